"""Peak resident memory and images/s of training on N faces held in memory against the same faces read from shards,
in 1 and 2 processes (torchrun), for growing N: does memory grow with the data?

    python prepare_data.py --dataset toy --n_toy 200000 --resize 128 --out data/shards/toy200k   # once, ~10 min
    python benchmarks/data_scale.py --shards data/shards/toy200k                 # memory curve + plot

Per setting (mode x N x processes) one fresh process per rank (``torchrun --standalone`` for 2): it opens the
shards and takes their first N faces (the last 64 for validation); ``memory`` reads them into one uint8 tensor as
the in-memory path holds them (the decoded-image cache's tensor) and the trainer moves it to its device layout;
``shards`` leaves them on disk (``--shuffle_buffer``). Then it builds the real trainer (a CVAE at the shards' size,
``--width`` channels, ``--batch`` faces per process), takes ``--train_steps`` training steps and serves
``--read_steps`` more batches without a step (the data path alone), sampling the resident memory (VmRSS) after every
step. Recorded per rank: peak resident memory (VmHWM: the whole process, torch included), the resident memory
after the first and the last step, seconds to load, images/s of training and of the data path. ``memory`` is run
only where N faces (twice: the tensor and its channels-last copy, per process) fit in ``--memory_budget_gb``.

Writes benchmarks/results/<date>-<time>-<host>-data_scale.json and a plot of peak memory against N
(``--plot``, default beside the JSON). Memory does not depend on the machine's load; images/s does: time them
on an idle machine (scripts/idle_benchmarks.sh). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facegen.data.batches import Batch
    from facegen.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VAL = 64  # the last faces of the N, for the trainer's validation set (never read by these steps)
CHUNK = 4096  # faces read per call when the in-memory mode fills its tensor


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def worker(args: argparse.Namespace) -> None:
    """One rank of one setting; writes its measures to ``args.result``/rank<R>.json."""
    import torch

    from facegen.core import distributed
    from facegen.data.shards import load_shards
    from facegen.models.registry import build_model
    from facegen.train.trainer import TrainConfig, Trainer

    world = distributed.world_from_env()
    device = distributed.start(world, torch.device("cpu"))
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    faces = load_shards(args.shards, ["smile"]).subset(torch.arange(args.count))
    train, val = faces.subset(torch.arange(args.count - VAL)), faces.subset(torch.arange(args.count - VAL, args.count))
    if args.mode == "memory":  # the in-memory path: every face in one uint8 tensor
        for part in (train, val):
            part.images = torch.cat([part.images.read(torch.arange(i, min(i + CHUNK, len(part))))
                                     for i in range(0, len(part), CHUNK)])
    model = build_model("cvae", dict(size=faces.size, channels=faces.channels, cond_dim=1, latent_size=20,
                                     base_channels=args.width, max_channels=8 * args.width))
    cfg = TrainConfig(batch_size=args.batch, n_epochs=1, seed=args.seed, shuffle_buffer=args.buffer)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(model, train, val, cfg, Path(out), device, {}, world)
        load_s = time.perf_counter() - start
        rss = [rss_mib()]
        batches = endless(trainer)
        model.train()
        t = time.perf_counter()
        for _ in range(args.train_steps):
            model.train_step(next(batches), trainer.step)
            rss.append(rss_mib())
        train_s = time.perf_counter() - t
        t, served = time.perf_counter(), 0
        for _ in range(args.read_steps):
            served += next(batches).x.shape[0]
            rss.append(rss_mib())
        read_s = time.perf_counter() - t
    Path(args.result, f"rank{world.rank}.json").write_text(json.dumps({
        "rank": world.rank, "peak_rss_mib": rss_mib("VmHWM"), "rss_first_step_mib": rss[1] if len(rss) > 1 else rss[0],
        "rss_last_step_mib": rss[-1], "rss_mib": rss, "load_s": load_s,
        "train_images_per_s": args.train_steps * args.batch / train_s if args.train_steps else None,
        "read_images_per_s": served / read_s if args.read_steps else None}))
    distributed.stop()


def endless(trainer: Trainer) -> Iterator[Batch]:
    """The trainer's batches epoch after epoch: a rank of a small set runs out of one epoch's batches before the
    benchmark's read steps are done."""
    while True:
        yield from trainer.batches()


def run_setting(args: argparse.Namespace, mode: str, n: int, procs: int) -> dict:
    """Launch one setting (python, or torchrun for several processes) and collect its ranks' measures."""
    with tempfile.TemporaryDirectory() as result:
        flags = ["--worker", "--mode", mode, "--count", str(n), "--shards", str(args.shards), "--result", result,
                 "--width", str(args.width), "--batch", str(args.batch), "--buffer", str(args.buffer),
                 "--train_steps", str(args.train_steps), "--read_steps", str(args.read_steps),
                 "--seed", str(args.seed)]
        launcher = ([sys.executable] if procs == 1 else
                    [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", str(procs)])
        start = time.perf_counter()
        subprocess.run([*launcher, str(Path(__file__).resolve()), *flags], check=True, cwd=ROOT)
        wall = time.perf_counter() - start
        ranks = [json.loads(Path(result, f"rank{r}.json").read_text()) for r in range(procs)]
    return {"mode": mode, "faces": n, "processes": procs, "wall_s": wall,
            "peak_rss_mib_per_process": max(r["peak_rss_mib"] for r in ranks),
            "rss_first_step_mib": max(r["rss_first_step_mib"] for r in ranks),
            "rss_last_step_mib": max(r["rss_last_step_mib"] for r in ranks),
            "load_s": max(r["load_s"] for r in ranks),
            "train_images_per_s": (sum(r["train_images_per_s"] for r in ranks) if args.train_steps else None),
            "read_images_per_s": (sum(r["read_images_per_s"] for r in ranks) if args.read_steps else None),
            "ranks": ranks}


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode, style in (("memory", "o-"), ("shards", "s-")):
        for procs in sorted({r["processes"] for r in rows}):
            pts = sorted((r["faces"], r["peak_rss_mib_per_process"] / 1024) for r in rows
                         if r["mode"] == mode and r["processes"] == procs)
            if pts:
                ax.plot(*zip(*pts, strict=True), style, label=f"{mode}, {procs} process{'es' if procs > 1 else ''}")
    ax.set(xscale="log", xlabel="faces", ylabel="peak resident memory per process (GiB)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    largest = max((r for r in rows if r["mode"] == "shards"), key=lambda r: (r["faces"], r["processes"]), default=None)
    if largest is not None:
        for rank in largest["ranks"]:
            bx.plot(rank["rss_mib"], label=f"rank {rank['rank']}")
        bx.set(xlabel="step (training, then batches served)", ylabel="resident memory (MiB)", ylim=(0, None),
               title=f"shards, {largest['faces']:,} faces, {largest['processes']} process(es): memory per step")
        bx.grid(alpha=0.3)
        bx.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", type=Path, required=True, help="a shard folder (prepare_data.py)")
    p.add_argument("--faces", default="10000,25000,50000,100000,200000",
                   help="comma list of N (at least two shards each, so that 2 processes read shards of their own)")
    p.add_argument("--modes", default="memory,shards")
    p.add_argument("--processes", default="1,2")
    p.add_argument("--width", type=int, default=16, help="CVAE --base_channels")
    p.add_argument("--batch", type=int, default=32, help="faces per step and process")
    p.add_argument("--buffer", type=int, default=10_000, help="--shuffle_buffer of the shards mode")
    p.add_argument("--train_steps", type=int, default=5)
    p.add_argument("--read_steps", type=int, default=40)
    p.add_argument("--memory_budget_gb", type=float, default=6.0,
                   help="run the in-memory mode only where its tensors (2 copies per process) fit in this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    p.add_argument("--plot", type=Path, default=None, help="PNG (default: the JSON's name with .png)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mode", help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)  # not --n: torchrun would take it
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    from facegen.data.shards import read_manifest

    manifest = read_manifest(args.shards)
    row_bytes = manifest.channels * manifest.size ** 2
    stamp = f"{dt.datetime.now():%Y-%m-%d-%H%M%S}-{socket.gethostname()}"
    out = args.out or ROOT / "benchmarks" / "results" / f"{stamp}-data_scale.json"
    rows = []
    load_before = os.getloadavg()[0]
    print(f"{manifest.n} faces at {manifest.size} px in {args.shards}; 1-minute load average {load_before:.2f}")
    print(f"{'mode':>7} {'faces':>7} {'procs':>5} {'peak MiB/proc':>13} {'MiB 1st/last step':>17} {'load s':>6} "
          f"{'train img/s':>11} {'read img/s':>10}")
    for n in (int(v) for v in args.faces.split(",")):
        if n > manifest.n:
            print(f"skipping {n} faces: the shards hold {manifest.n}")
            continue
        for procs in (int(v) for v in args.processes.split(",")):
            for mode in args.modes.split(","):
                if mode == "memory" and 2 * n * row_bytes * procs > args.memory_budget_gb * 2**30:
                    print(f"{mode:>7} {n:>7} {procs:>5}   does not fit in --memory_budget_gb {args.memory_budget_gb}")
                    continue
                r = run_setting(args, mode, n, procs)
                rows.append(r)
                print(f"{mode:>7} {n:>7} {procs:>5} {r['peak_rss_mib_per_process']:>13.0f} "
                      f"{r['rss_first_step_mib']:>8.0f}/{r['rss_last_step_mib']:<8.0f} {r['load_s']:>6.1f} "
                      f"{r['train_images_per_s'] or 0:>11.0f} {r['read_images_per_s'] or 0:>10.0f}", flush=True)
    load_after = os.getloadavg()[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(dt.datetime.now()), "host": socket.gethostname(), "shards": str(args.shards),
                               "size": manifest.size, "flags": {k: str(v) for k, v in vars(args).items()},
                               "load_before": load_before, "load_after": load_after, "results": rows}, indent=1) + "\n")
    picture = args.plot or out.with_suffix(".png")
    plot(rows, picture, f"{manifest.size} px faces")
    print(f"wrote {out} and {picture}; 1-minute load average after {load_after:.2f}")


if __name__ == "__main__":
    main()
