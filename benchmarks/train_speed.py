"""Training-speed benchmark: times the real training epoch of facegen (data batches included).

    python benchmarks/train_speed.py            # a handful of settings, about three minutes on 2 cores
    python benchmarks/train_speed.py --full     # the whole grid of models x sizes x batches x data sizes

For each setting: warm-up, then the median of several timed epochs of ``Trainer.train_epoch``
(the code path cvae.py runs). Prints images/s, ms/step, s/epoch, peak memory, the share of step
time in data / forward / backward / optimizer, and achieved GFLOP/s (FlopCounterMode) against this
machine's matmul GFLOP/s. The phase split is torch.profiler's CPU time of the trainer's labelled regions on a
CPU, and on a GPU the time between CUDA events recorded at each region's start and end on the device's stream
(the profiler's CPU labels only see how long the launches took: 100/0/0/0).

``--compile MODE`` trains through the compiled step (``TrainConfig.compile``: the whole step, optimizer included,
``reduce-overhead`` = CUDA graphs on a GPU); the warm-up epoch then holds the compile, printed as ``compile s``
(warm-up epoch minus a timed epoch). Compare with the same command without ``--compile`` in the same session
(scripts/idle_benchmarks.sh does, and prints when compiling has paid for itself):

    python benchmarks/train_speed.py --models cvae --sizes 50 --batches 8 --data_sizes 185 --max_steps 0 \
        [--compile reduce-overhead]

Writes benchmarks/results/<date>-<host>.json. Nothing here is a test.
"""

from __future__ import annotations

import os

os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # keep torch.profiler quiet

import argparse
import contextlib
import copy
import dataclasses
import datetime as dt
import itertools
import json
import math
import platform
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facegen.core.devices import pick_device  # noqa: E402
from facegen.core.seeding import seed_everything  # noqa: E402
from facegen.data import load_dataset  # noqa: E402
from facegen.data.faceset import FaceSet  # noqa: E402
from facegen.models.registry import build_model, model_class  # noqa: E402
from facegen.train import step as step_module  # noqa: E402
from facegen.train import trainer as train_module  # noqa: E402
from facegen.train.trainer import TrainConfig, Trainer  # noqa: E402

train_module.tqdm = lambda iterable, **_: iterable  # no progress bar of a long epoch inside the printed table

DEFAULT = [  # (model, size, batch, n_faces, timed steps per epoch; 0 = the whole epoch)
    ("cvae", 50, 8, 185, 0),       # the original study's setting
    ("cvae", 64, 64, 185, 0),
    ("cvae", 64, 256, 5000, 8),    # throughput setting
    ("cvae", 50, 8, 23707, 0),     # one whole epoch of all UTKFace: is cost linear in the data?
]
LINEAR = ("cvae", 50, 8, 185, 0)  # timed for 128 epochs in a row: the same sustained load as the 23,707 epoch
LINEAR_EPOCHS = 128
GRID = dict(models=("ae", "vae", "cvae", "dcgan", "vaegan"), sizes=(32, 50, 64, 128), batches=(8, 64, 256),
            data=(185, 5000, 23707))
LATENT = {"dcgan": 100, "cgan": 100, "vaegan": 128, "cvaegan": 128}  # each family's own default; 20 for the VAEs
PHASES = ("forward", "backward", "optimizer")


def matmul_gflops(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """Measured float32 matrix-multiply throughput of this machine (best of three)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = 0.0
    for _ in range(3):
        a @ b
        sync(device)
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def faces_of_size(pool: FaceSet, n: int, size: int) -> FaceSet:
    """``n`` faces at ``size`` px: the pool repeated (same shapes as real data of that count)."""
    faces = pool.subset(torch.arange(n) % len(pool))
    if faces.size != size:
        images = torch.nn.functional.interpolate(faces.images.float(), size=(size, size), mode="area")
        faces.images = images.round().to(torch.uint8)
    return faces


def flops_per_image(trainer: Trainer, batch_size: int) -> float:
    """Forward + backward FLOPs of one training step, per image: a whole train_step (every player's passes for
    a GAN; the counter counts the matrix products and convolutions, not the optimizers' elementwise updates),
    the weights restored afterwards so the timed model starts untouched."""
    batch = next(trainer.train_data.shuffled(batch_size, torch.Generator().manual_seed(0)))
    state = copy.deepcopy(trainer.model.state_dict())
    with FlopCounterMode(display=False) as counter:
        trainer.model.train_step(batch, trainer.step)
    trainer.model.load_state_dict(state)
    for opt in trainer.optimizers.values():
        opt.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch.x.shape[0]


def timed_epochs(trainer: Trainer, device: torch.device, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` training epochs."""
    times = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        trainer.train_epoch()
        sync(device)
        times.append(time.perf_counter() - t)
    return times


class CudaPhases:
    """Stands in for ``record_function`` in the trainer's step: CUDA events at each labelled region's start and
    end, so a region's time is what the device's stream spent between them (kernels and the gaps the host left)."""

    def __init__(self):
        self.spans: dict[str, list[tuple[torch.cuda.Event, torch.cuda.Event]]] = {k: [] for k in PHASES}

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = torch.cuda.Event(enable_timing=True)
        start.record()
        try:
            yield
        finally:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            if name in self.spans:
                self.spans[name].append((start, end))

    def seconds(self) -> dict[str, float]:
        torch.cuda.synchronize()
        return {k: sum(a.elapsed_time(b) for a, b in v) / 1e3 for k, v in self.spans.items()}


def cuda_phase_shares(trainer: Trainer) -> dict[str, float]:
    """Share of an epoch's device time in each labelled region (CUDA events); the rest is batching and
    bookkeeping."""
    phases, labels = CudaPhases(), step_module.record_function
    step_module.record_function = phases
    try:
        first, last = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        first.record()
        trainer.train_epoch()
        last.record()
        spent = phases.seconds()
        total = first.elapsed_time(last) / 1e3
    finally:
        step_module.record_function = labels
    shares = {k: spent[k] / total for k in PHASES}
    shares["data+other"] = max(0.0, 1 - sum(shares.values()))
    return shares


def phase_shares(trainer: Trainer, device: torch.device) -> dict[str, float]:
    """Share of epoch time in each labelled trainer region; the rest is data batching and bookkeeping."""
    if device.type == "cuda":
        return cuda_phase_shares(trainer)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync(device)
    t = time.perf_counter()
    with profile(activities=acts) as prof:
        trainer.train_epoch()
        sync(device)
    total = time.perf_counter() - t
    spent = {e.key: e.cpu_time_total / 1e6 for e in prof.key_averages() if e.key in PHASES}
    shares = {k: spent.get(k, 0.0) / total for k in PHASES}
    shares["data+other"] = max(0.0, 1 - sum(shares.values()))
    return shares


def bench(model_name: str, size: int, batch: int, n: int, steps: int, pool: FaceSet, device: torch.device,
          repeats: int, channels_last: bool, amp: bool = False, sustained: int = 0, compile_mode: str = "off") -> dict:
    """Time one setting; ``steps`` > 0 times epochs cut to that many steps (same per-step work). Short epochs:
    the median of ``repeats`` after a warm-up epoch, or with ``sustained`` the mean of that many epochs in a row;
    an epoch of more than 5000 faces is timed once, after warming up on a few batches."""
    seed_everything(0)
    faces = faces_of_size(pool, n, size)
    timed = faces if not steps or steps * batch >= n else faces.subset(torch.arange(steps * batch))
    cfg = dict(size=size, channels=3, latent_size=LATENT.get(model_name, 20), cond_dim=faces.cond.shape[1])
    known = {f.name for f in dataclasses.fields(model_class(model_name).Config)}
    cfg = {k: v for k, v in cfg.items() if k in known}  # a flow has no latent_size: its code is the image's size
    tcfg = TrainConfig(n_epochs=1, batch_size=batch, channels_last=channels_last, amp=amp, compile=compile_mode)
    big = len(timed) > 5000
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(build_model(model_name, cfg), timed, faces.subset(torch.arange(2)), tcfg, Path(tmp),
                          device, {})
        fpi = flops_per_image(trainer, batch)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        if big:  # warm up (kernel and allocator caches) on a few batches of the same shapes, not a whole epoch
            Trainer(build_model(model_name, cfg), timed.subset(torch.arange(8 * batch)), timed.subset(torch.arange(2)),
                    tcfg, Path(tmp), device, {}).train_epoch()
            times = timed_epochs(trainer, device, 1)
        else:
            warm = timed_epochs(trainer, device, 1)[0]
            times = timed_epochs(trainer, device, sustained or repeats)
        shares = (phase_shares(trainer, device) if not (big or sustained)
                  else {k: float("nan") for k in (*PHASES, "data+other")})
    epoch_s = statistics.fmean(times) if sustained else statistics.median(times)
    compile_s = warm - epoch_s if compile_mode != "off" and not big else None
    n_steps = -(-len(timed) // batch)
    images_per_s = len(timed) / epoch_s
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"model": model_name, "size": size, "batch": batch, "n_faces": n, "amp": amp, "sustained_epochs": sustained,
            "images_per_s": images_per_s, "ms_per_step": epoch_s / n_steps * 1e3, "s_per_epoch": n / images_per_s,
            "peak_mem_mib": peak, "mflop_per_image": fpi / 1e6, "gflops": fpi * images_per_s / 1e9,
            "timed_steps": n_steps, "shares": shares, "compile": compile_mode, "compile_s": compile_s,
            "first_epoch_s": None if big else warm}


def print_row(r: dict, peak_mm: float) -> None:
    s = r["shares"]
    faces = f"{r['n_faces']}" + (f"x{r['sustained_epochs']}" if r["sustained_epochs"] else "")
    print(f"{r['model']:5} {r['size']:>4} {r['batch']:>5} {faces:>8} {r['images_per_s']:>8.0f} "
          f"{r['ms_per_step']:>8.2f} {r['s_per_epoch']:>8.2f} {r['peak_mem_mib']:>6.0f} {r['mflop_per_image']:>9.1f} "
          f"{r['gflops']:>8.1f} {100 * r['gflops'] / peak_mm:>5.0f}%  "
          + "/".join("-" if math.isnan(s[k]) else f"{100 * s[k]:.0f}" for k in ("data+other", *PHASES))
          + ("" if r["compile_s"] is None else f"  compile {r['compile_s']:.1f} s"), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the whole grid instead of the default settings")
    p.add_argument("--models", default=None,
                   help="comma list, e.g. cvae,vae or dcgan,vaegan (overrides the default set)")
    p.add_argument("--sizes", default=None, help="comma list of sizes")
    p.add_argument("--batches", default=None, help="comma list of batch sizes")
    p.add_argument("--data_sizes", default=None, help="comma list of dataset sizes")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per setting (median is reported)")
    p.add_argument("--max_steps", type=int, default=40, help="with --full or lists: steps per timed epoch (0: all)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--no_channels_last", action="store_true", help="NCHW instead of channels_last (to compare)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--amp", action="store_true", help="mixed precision (the trainer's --amp: bfloat16 autocast)")
    p.add_argument("--compile", default="off", choices=["off", "default", "reduce-overhead", "max-autotune"],
                   help="train through the compiled step (the trainer's --compile)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/<date>-<host>.json)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.full or any([args.models, args.sizes, args.batches, args.data_sizes]):
        pick = {k: (tuple(type(v[0])(x) for x in getattr(args, a).split(",")) if getattr(args, a) else v)
                for (k, v), a in zip(GRID.items(), ("models", "sizes", "batches", "data_sizes"), strict=True)}
        settings = [(*combo, args.max_steps) for combo in itertools.product(*pick.values())]
    else:
        settings = DEFAULT
    pool = load_dataset(dataset="toy", data=None, labels=None, attrs=None, size=max(s[1] for s in settings),
                        channels=3, conditions=["smile"], cache_dir=Path("data/cache"), num_workers=0)
    peak_mm = matmul_gflops(device)
    print(f"device {device}, {torch.get_num_threads()} threads, matmul {peak_mm:.0f} GFLOP/s, "
          f"torch {torch.__version__}{', amp (bfloat16)' if args.amp else ''}")
    head = (f"{'model':5} {'px':>4} {'batch':>5} {'faces':>8} {'img/s':>8} {'ms/step':>8} {'s/epoch':>8} "
            f"{'MiB':>6} {'MFLOP/img':>9} {'GFLOP/s':>8} {'%peak':>6}  data/fwd/bwd/opt %")
    print(head)
    rows = []
    for model_name, size, batch, n, steps in settings:
        rows.append(bench(model_name, size, batch, n, steps, pool, device, args.repeats, not args.no_channels_last,
                          args.amp, compile_mode=args.compile))
        print_row(rows[-1], peak_mm)
    linearity = None
    if settings is DEFAULT:  # the 185-face epoch under the same sustained load as the 23,707-face one
        rows.append(bench(*LINEAR, pool, device, args.repeats, not args.no_channels_last, args.amp, LINEAR_EPOCHS))
        print_row(rows[-1], peak_mm)
        big = next(r for r in rows if r["n_faces"] == 23707)
        linearity = big["s_per_epoch"] / (23707 / 185 * rows[-1]["s_per_epoch"])
        print(f"linearity: the 23,707-face epoch costs {linearity:.2f} x (23,707 / 185) x the sustained 185-face epoch")
    out = args.out or Path(__file__).parent / "results" / f"{dt.date.today()}-{socket.gethostname()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(dt.datetime.now()), "host": socket.gethostname(),
                               "machine": platform.processor() or platform.machine(), "device": str(device),
                               "threads": torch.get_num_threads(), "torch": torch.__version__,
                               "matmul_gflops": peak_mm, "channels_last": not args.no_channels_last, "amp": args.amp,
                               "compile": args.compile,
                               "linearity": linearity,
                               "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
