"""The one trainer for every model: epochs, devices, amp, torchrun, checkpoints, bit-exact resume, logs, figures.

It knows nothing of any model's maths: the model builds its optimizers and schedules, does its step through
:class:`~facegen.train.step.TrainStep`, and reports named scalar terms (logged to ``training.csv`` and plotted),
per-epoch vectors (plotted as heat maps) and snapshot images (one grid per validation epoch, and the GIF).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.profiler import record_function
from tqdm import tqdm

from facegen import plots
from facegen.core.amp import amp_dtype
from facegen.core.distributed import ONE_PROCESS, World, all_reduce_sum, barrier, broadcast_module, gather_to_main
from facegen.core.errors import FacegenError
from facegen.core.files import append_csv_row, atomic_write, load_checkpoint, save_checkpoint, write_csv
from facegen.core.seeding import rng_state, set_rng_state
from facegen.data.augment import color_jitter
from facegen.data.batches import Batch, DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.data.needs import LABELED_FRACTION
from facegen.models.base import Model, OptimSettings
from facegen.models.capabilities import Encoder
from facegen.nn.sync_batchnorm import convert_batchnorm
from facegen.train.compiled import step_function
from facegen.train.step import TrainStep

LAST = "checkpoints/last.pt"


@dataclass
class TrainConfig:
    n_epochs: int = 200
    lr: float = 2e-4
    batch_size: int = 8  # per process; the global batch is batch_size x processes
    lr_step: int = 250
    lr_gamma: float = 0.5
    clip_grad: float = 100.0  # per optimizer, on the gradient norm of its parameters (0: off)
    eval_every: int = 10
    save_every: int = 0
    flip: bool = True
    jitter: float = 0.0  # colour jitter strength (brightness, contrast, saturation factors in [1 - j, 1 + j])
    seed: int = 0
    n_show: int = 32
    channels_last: bool = True  # NHWC activations: faster convolutions on CPU (oneDNN) and GPU
    labeled_fraction: float = LABELED_FRACTION  # labelled share of a batch when the stream mixes in unlabelled ones
    amp: bool = False  # mixed precision: autocast to bfloat16 (float16 with loss scaling on GPUs without bf16)
    checkpoint_seconds: float = 30.0  # write checkpoints/last.pt at most this often (and at the end, on Ctrl-C,
    # on divergence and at every --save_every epoch); 0: after every epoch
    checkpoint_steps: int = 0  # also write checkpoints/last.pt every N steps within an epoch (0: off), so a run on
    # data too large for short epochs resumes at the step where it stopped
    shuffle_buffer: int = 0  # faces read from shards: mix each rank's own shards with a buffer of N faces (0: one
    # shuffle over every face, the order of faces held in memory)
    compile: str = "off"  # torch.compile the whole training step: off, default, reduce-overhead (CUDA graphs on GPUs)
    compile_backend: str = "inductor"  # (tests use aot_eager: the same graph capture without generating code)


def cpu_copy(obj: object) -> object:
    """A copy of a nested state (dicts, lists, tuples) whose tensors are copied to the CPU (a state dict keeps
    its ``_metadata``); other leaves are deep-copied."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        out = type(obj)((k, cpu_copy(v)) for k, v in obj.items())
        if hasattr(obj, "_metadata"):
            out._metadata = copy.deepcopy(obj._metadata)
        return out
    if type(obj) in (list, tuple):
        return type(obj)(cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training, after the last finished epoch was saved; its text says what the run holds."""


class Trainer:
    """Trains ``model`` on ``train``, validating on ``val``; rank 0 writes everything into the run folder."""

    def __init__(self, model: Model, train: FaceSet, val: FaceSet, cfg: TrainConfig, out: Path,
                 device: torch.device, record: dict, world: World = ONE_PROCESS,
                 on_checkpoint: Callable[[], Path] | None = None):
        """``on_checkpoint`` is called on rank 0 after every checkpoint and returns the folder to write into from
        then on (a run built beside the folder it replaces moves there after its first checkpoint)."""
        self.cfg, self.out, self.device, self.world = cfg, out, device, world
        self.record = json.loads(json.dumps(record, default=str))  # plain values: checkpoints load unpickled
        self.on_checkpoint = on_checkpoint
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        if world.distributed:
            model = convert_batchnorm(model, device)
        self.model = model.to(device, memory_format=fmt)
        if world.distributed:
            broadcast_module(self.model)
        self.train_data = DeviceFaces(train, device, cfg.channels_last, cfg.shuffle_buffer)
        self.position: dict | None = None  # where a checkpoint written within an epoch stopped (see resume)
        self.mixed = model.data_needs.mixed(train)  # labelled and unlabelled examples, a fixed share of each a batch
        self.val_data = DeviceFaces(val, device, cfg.channels_last)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # batch order and flips: the same on every rank
        settings = OptimSettings(lr=cfg.lr, lr_step=cfg.lr_step, lr_gamma=cfg.lr_gamma, n_epochs=cfg.n_epochs,
                                 steps_per_epoch=self.steps_per_epoch())
        self.train_step = step_function(self.model, cfg.compile, cfg.compile_backend)  # before the optimizers
        self.optimizers = model.optimizers(settings, device)
        self.schedulers = model.schedulers(self.optimizers, settings)
        self.amp_dtype = amp_dtype(device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and self.amp_dtype == torch.float16)
        self.step = TrainStep(self.optimizers, self.scaler, device, self.amp_dtype, cfg.amp, cfg.clip_grad, world)
        self.epoch = 0
        self.history: list[dict] = []
        self.pending: dict | None = None  # the last finished epoch's state while it is not on disk yet
        self.saved_at = time.monotonic()
        self.saved_epoch: int | None = None  # the epoch checkpoints/last.pt holds (None: no checkpoint yet)
        self.tracks: dict[str, list[torch.Tensor]] = {}
        self.show = self.val_data.batch(torch.arange(min(cfg.n_show, len(val)), device=device))
        if world.distributed and world.rank:
            torch.manual_seed(cfg.seed + world.rank)  # each rank its own noise; rank 0 keeps the 1-process stream

    # ---- batches -------------------------------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        if self.mixed:
            return self.train_data.mixed_split(self.cfg.batch_size, self.cfg.labeled_fraction, self.world)[2]
        return self.train_data.shuffled_steps(self.cfg.batch_size, self.world)

    def batches(self, start: int = 0, drawn: Callable[[], object] | None = None):
        """The epoch's batches from batch ``start`` on (the order is drawn from the trainer's generator);
        ``drawn`` runs once the order is drawn, before any batch is jittered."""
        if self.mixed:  # one pass over the unlabelled faces, a fixed labelled share per batch
            batches = self.train_data.mixed(self.cfg.batch_size, self.gen, self.cfg.labeled_fraction,
                                            flip=self.cfg.flip, world=self.world, start=start)
        else:
            batches = self.train_data.shuffled(self.cfg.batch_size, self.gen, flip=self.cfg.flip, world=self.world,
                                               start=start)
        if drawn is not None:
            batches = _then(batches, drawn)
        return (self.jittered(b) for b in batches) if self.cfg.jitter else batches

    def jittered(self, batch: Batch) -> Batch:
        """The batch's faces colour-jittered on their device, the factors drawn from the trainer's generator (so
        a resumed run draws the same ones)."""
        s = self.cfg.jitter
        batch.x = color_jitter(batch.x, self.gen, brightness=s, contrast=s, saturation=s)
        return batch

    # ---- checkpoints ---------------------------------------------------------------------------------------
    def state(self, rngs: list[dict], logs: bool = True) -> dict:
        """The checkpoint (the live tensors, not copies); ``logs=False`` leaves out the history and tracks."""
        state = {"model": self.model.state_dict(), "model_name": self.model.name,
                 "model_config": self.model.cfg.to_dict(),
                 "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                 "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                 "scaler": self.scaler.state_dict(), "epoch": self.epoch, "rng": rngs, "world_size": self.world.size,
                 "record": self.record, "train_config": asdict(self.cfg)}
        if logs:
            state.update(history=self.history, tracks={k: torch.stack(v) for k, v in self.tracks.items()})
        return state

    def write(self, state: dict) -> None:
        """Write a checkpoint atomically (rank 0), and ``checkpoints/epoch_N.pt`` at every ``save_every`` epoch."""
        save_checkpoint(self.out / LAST, state)
        if self.cfg.save_every and state["epoch"] % self.cfg.save_every == 0:
            save_checkpoint(self.out / f"checkpoints/epoch_{state['epoch']}.pt", state)
        self.pending, self.saved_at, self.saved_epoch = None, time.monotonic(), state["epoch"]

    def checkpoint(self, last: bool) -> None:
        """After every epoch (every rank's random state goes to rank 0): write ``last.pt`` once
        ``checkpoint_seconds`` have passed since the last write, at the last epoch and at every ``save_every``
        epoch; otherwise keep a copy of the state in memory (:attr:`pending`), which Ctrl-C and divergence
        write. So the newest finished epoch is always on disk or in :attr:`pending`, and a kill -9 loses at most
        the epochs of the last ``checkpoint_seconds`` (plus the one running)."""
        rngs = gather_to_main(rng_state(self.gen), self.world)  # a collective: every rank, every epoch
        if not self.world.is_main:
            return
        due = (last or time.monotonic() - self.saved_at >= self.cfg.checkpoint_seconds
               or (self.cfg.save_every and self.epoch % self.cfg.save_every == 0))
        if due:
            self.write(self.state(rngs))
        else:  # a copy of what changes in place; history and tracks only grow, so their lengths mark the epoch
            self.pending = {"state": cpu_copy(self.state(rngs, logs=False)), "history": len(self.history),
                            "tracks": {k: len(v) for k, v in self.tracks.items()}}

    def write_pending(self) -> None:
        """Write the last finished epoch's state if it is not on disk yet (Ctrl-C, divergence)."""
        if self.pending is None:
            return
        p = self.pending
        self.write({**p["state"], "history": self.history[:p["history"]],
                    "tracks": {k: torch.stack(self.tracks[k][:n]) for k, n in p["tracks"].items()}})

    def resume(self) -> None:
        """Continue exactly where ``checkpoints/last.pt`` stopped (weights, optimizers, schedules, scaler, the
        history and every rank's random state)."""
        path = self.out / LAST
        ckpt = load_checkpoint(path)
        saved_world = ckpt.get("world_size", 1)
        if saved_world != self.world.size:
            raise FacegenError(f"{path} was written by {saved_world} process(es) and this is {self.world.size}: "
                               f"resume with {saved_world} processes in all (--nnodes x --nproc-per-node)")
        try:
            self.model.load_state_dict(ckpt["model"])
            for key, group in (("optimizers", self.optimizers), ("schedulers", self.schedulers)):
                if set(ckpt[key]) != set(group):
                    raise KeyError(key)
                for name, obj in group.items():
                    obj.load_state_dict(ckpt[key][name])
        except (RuntimeError, KeyError, ValueError) as e:
            first = str(e).strip().splitlines()[-1].strip() if str(e).strip() else type(e).__name__
            raise FacegenError(f"checkpoint {path} does not match the model built from the flags ({first}); "
                               f"use the flags it was trained with, or a new --out") from None
        self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.history = ckpt["epoch"], ckpt["history"]
        self.saved_epoch = self.epoch
        self.tracks = {k: list(v) for k, v in ckpt["tracks"].items()}
        set_rng_state(ckpt["rng"][self.world.rank], self.gen)
        self.position = ckpt.get("position")

    # ---- a checkpoint within an epoch ----------------------------------------------------------------------
    def begin_epoch(self, steps: int) -> tuple[object, int, dict[str, list[torch.Tensor]], list[int]]:
        """(batches, first step, terms so far, batch sizes so far) of the epoch about to run. A run resumed from a
        checkpoint written within an epoch draws that epoch's order again from the generator's state at the
        epoch's start, skips the steps already taken (reading nothing for them), and continues from the
        generator's state at the checkpoint; the terms of the steps taken come from the checkpoint."""
        self.epoch_gen = self.gen.get_state()
        if self.position is None:
            return self.batches(), 0, {}, []
        p, self.position = self.position, None
        now, self.epoch_gen = self.epoch_gen, p["epoch_gen"]
        self.gen.set_state(self.epoch_gen)
        start = int(p["step"])
        if not 0 < start < steps:
            raise FacegenError(f"the checkpoint stopped at step {start} of an epoch of {steps}: resume with the "
                               f"flags it was trained with")
        batches = self.batches(start, drawn=lambda: self.gen.set_state(now))
        mine = p["ranks"][self.world.rank]  # this rank's own terms so far (each rank sums its own faces)
        terms = {k: [t.to(self.device) for t in v.unbind()] for k, v in mine["terms"].items()}
        return batches, start, terms, mine["sizes"].tolist()

    def checkpoint_within(self, step: int, terms: dict[str, list[torch.Tensor]], sizes: list[int]) -> None:
        """Write ``last.pt`` after ``step`` steps of the running epoch (every rank's random state and terms to rank
        0): the weights and random states now, the generator's state at the epoch's start and every rank's terms so
        far."""
        mine = {"terms": {k: torch.stack(v).cpu() for k, v in terms.items()}, "sizes": torch.tensor(sizes)}
        gathered = gather_to_main({"rng": rng_state(self.gen), **mine}, self.world)  # a collective: every rank
        if not self.world.is_main:
            return
        state = self.state([g.pop("rng") for g in gathered])
        state["position"] = {"step": step, "epoch_gen": self.epoch_gen, "ranks": gathered}
        save_checkpoint(self.out / LAST, state)
        self.pending, self.saved_at, self.saved_epoch = None, time.monotonic(), self.epoch

    # ---- one epoch -----------------------------------------------------------------------------------------
    def train_epoch(self) -> dict[str, float]:
        """One pass over this rank's shard of the training faces. Per step only the model's own work runs: its
        terms stay on the device and are averaged once at the end of the epoch (over every rank)."""
        self.model.train()
        steps = self.steps_per_epoch()
        batches, start, terms, sizes = self.begin_epoch(steps)
        every = self.cfg.checkpoint_steps
        per_step = list(self.schedulers.values()) if self.model.schedule.per_step else []
        bar = tqdm(batches, total=steps, initial=start, leave=False, disable=steps < 100 or not self.world.is_main,
                   desc=f"epoch {self.epoch + 1}")
        for step, batch in enumerate(bar, start + 1):
            out = self.train_step(batch, self.step)
            self.scaler.update()
            for sched in per_step:
                sched.step()
            for k, v in out.items():
                terms.setdefault(k, []).append(v.detach())
            sizes.append(batch.x.shape[0])
            if every and step % every == 0 and step < steps:
                self.checkpoint_within(step, terms, sizes)
        if not self.model.schedule.per_step:
            for sched in self.schedulers.values():
                sched.step()
        for k, v in self.model.epoch_end().items():
            self.tracks.setdefault(k, []).append(v)
        weights = torch.tensor(sizes, dtype=torch.float64, device=self.device)
        sums = torch.stack([torch.stack(v).double() @ weights for v in terms.values()] + [weights.sum()])
        sums = all_reduce_sum(sums, self.world)
        return dict(zip(terms, (sums[:-1] / sums[-1]).tolist(), strict=True))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean validation terms (eval-mode BatchNorm, no gradients)."""
        self.model.eval()
        sums: dict[str, torch.Tensor] = {}
        for batch in self.val_data.in_order(256):
            for k, v in self.model.eval_step(batch).items():
                sums[k] = sums.get(k, 0) + v.double() * batch.x.shape[0]
        return {k: (v / len(self.val_data)).item() for k, v in sums.items()}

    def _seeded(self):
        """A fixed random state for validation and figures that leaves the training stream untouched, so a
        run resumed after any epoch equals a straight one."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices)

    def validate(self, row: dict) -> None:
        with self._seeded():
            torch.manual_seed(self.cfg.seed)
            row.update({f"val_{k}": v for k, v in self.evaluate().items()})
            with record_function("snapshot"):
                images = self.model.snapshot(self.show)
        if images is not None:
            plots.save_grid(images, self.out / f"iterations/iter_{self.epoch}.png")

    # ---- the loop ------------------------------------------------------------------------------------------
    def fit(self) -> list[dict]:
        """Train until ``n_epochs``; after every epoch a row of training.csv and a checkpoint (on the cadence of
        :meth:`checkpoint`), after validation epochs (every ``eval_every``, the first and the last) the
        validation terms and a snapshot grid. Ctrl-C writes the last finished epoch and raises
        :class:`Interrupted`."""
        cfg, main = self.cfg, self.world.is_main
        if self.epoch == 0 and main and isinstance(self.model, Encoder):
            plots.save_grid(self.show.x, self.out / "iterations/original.png")
        if main and self.history:
            self.discard_later_logs()
        bar = tqdm(range(self.epoch, cfg.n_epochs), initial=self.epoch, total=cfg.n_epochs, desc="training",
                   file=sys.stderr, dynamic_ncols=True, disable=not main)
        try:
            for _ in bar:
                start = time.perf_counter()
                lr = next(iter(self.optimizers.values())).param_groups[0]["lr"]
                train = self.train_epoch()
                self.check_finite(train)
                self.epoch += 1
                row = {"epoch": self.epoch, **{f"train_{k}": v for k, v in train.items()}}
                if main and (self.epoch % cfg.eval_every == 0 or self.epoch == cfg.n_epochs or self.epoch == 1):
                    self.validate(row)
                row.update(lr=lr, seconds=round(time.perf_counter() - start, 4))
                self.history.append(row)
                if main:
                    self.append_csv(row)
                self.checkpoint(last=self.epoch == cfg.n_epochs)
                if main and self.on_checkpoint is not None and self.saved_epoch is not None:
                    self.out = self.on_checkpoint()  # --overwrite: the new run replaces the old at its first
                if main:
                    first = next(iter(train))
                    bar.set_postfix({first: f"{train[first]:.3g}"})
        except KeyboardInterrupt:
            bar.close()
            raise self.interrupted() from None
        except Exception:  # a crash loses no finished epoch either
            if main:
                with contextlib.suppress(Exception):
                    self.write_pending()
            raise
        bar.close()
        if main:
            self.write_figures()
        barrier(self.world)
        return self.history

    def interrupted(self) -> Interrupted:
        """Ctrl-C: write the last finished epoch (rank 0), and say what the run folder now holds."""
        where = f"interrupted in epoch {self.epoch + 1} of {self.cfg.n_epochs}"
        if not self.world.is_main:  # only rank 0 knows which epoch its cadence last wrote
            return Interrupted(f"{where} (rank {self.world.rank}); rank 0 says what the run folder holds")
        self.write_pending()
        if self.saved_epoch is None:
            return Interrupted(f"{where}, before any epoch finished: nothing saved")
        return Interrupted(f"{where}: {self.out / LAST} holds epoch {self.saved_epoch}; continue with --resume "
                           f"--out {self.out}")

    def check_finite(self, train: dict[str, float]) -> None:
        """Stop with one line when a term is nan or inf, saying what the user can do with what exists."""
        bad = [k for k, v in train.items() if not math.isfinite(v)]
        if not bad:
            return
        where = f"training diverged in epoch {self.epoch + 1} ({bad[0]} = {train[bad[0]]})"
        if not self.world.is_main:
            raise FacegenError(f"{where} (rank {self.world.rank}); rank 0 names the checkpoint to resume from")
        self.write_pending()
        if self.saved_epoch is not None:
            raise FacegenError(f"{where}; {self.out / LAST} holds epoch {self.epoch}, the last good one: resume "
                               f"from it with --resume and a lower --lr")
        raise FacegenError(f"{where}, before any checkpoint was written: start again with a lower --lr")

    # ---- logs and figures ----------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        keys = list(self.history[0])
        for row in self.history:
            keys += [k for k in row if k not in keys]
        return keys

    def discard_later_logs(self) -> None:
        """On resume: the checkpoint may be older than the logs a killed run left (its epochs after the last
        checkpoint). training.csv is rewritten from the checkpoint's history and the snapshot grids of later
        epochs are removed, so the run folder says what the checkpoint holds; the resumed run writes them again
        (the same, bit for bit)."""
        self.write_csv()
        for grid in (self.out / "iterations").glob("iter_*.png"):
            if grid.stem.split("_")[1].isdigit() and int(grid.stem.split("_")[1]) > self.epoch:
                grid.unlink()

    def write_csv(self) -> None:
        """The whole log (at the start of a resumed run): later epochs are appended."""
        self._columns = self.columns()
        write_csv(self.out / "training.csv", self._columns, ([r.get(k) for k in self._columns] for r in self.history))

    def append_csv(self, row: dict) -> None:
        """One row per epoch, appended; the file is written whole only when a new column appears."""
        if len(self.history) == 1 or any(k not in self._columns for k in row):
            self.write_csv()
        else:
            append_csv_row(self.out / "training.csv", [row.get(k) for k in self._columns])

    def terms(self) -> list[str]:
        return [k[len("train_"):] for k in self.columns() if k.startswith("train_")]

    def write_figures(self) -> None:
        """The loss curves, a heat map per tracked vector (all epochs, the first 50 and the last 50: copies of the
        first when the run has no more than 50) and the GIF of the snapshots."""
        if not self.history:
            return
        plots.plot_training(self.history, self.terms(), self.out / "plots/training.png")
        frames = sorted((self.out / "iterations").glob("iter_*.png"), key=lambda p: int(p.stem.split("_")[1]))
        plots.save_gif(frames, self.out / "training.gif")
        for name, values in self.tracks.items():
            var = torch.stack(values).numpy()
            epochs = list(range(1, len(var) + 1))
            whole = self.out / f"plots/{name}.png"
            plots.plot_latent_variance(var, epochs, whole, f"{name} per epoch")
            k = min(50, len(var))
            for part, rows in (("first", slice(None, k)), ("last", slice(-k, None))):
                path = self.out / f"plots/{name}_{part}_50.png"
                if k == len(var):
                    atomic_write(path, lambda tmp, src=whole: shutil.copyfile(src, tmp), suffix=".png")
                else:
                    plots.plot_latent_variance(var[rows], epochs[rows], path, f"{name}, {part} {k} epochs")


def _then(items: Iterable, action: Callable[[], object]) -> Iterator:
    """``items``, with ``action`` run once the first item was drawn (an epoch's order is drawn with it)."""
    it = iter(items)
    first = next(it, None)
    action()
    if first is not None:
        yield first
        yield from it
