"""The one trainer for every model: epochs, Adam, step schedule, clipping, checkpoints, resume, logs."""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.profiler import record_function
from tqdm import tqdm

from facegen import plots
from facegen.core.errors import FacegenError
from facegen.csvfile import write_csv
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.models import FaceModel
from facegen.run import LAST, load_checkpoint, load_model_state, save_checkpoint

TERMS = ("loss", "recon", "kl")


@dataclass
class TrainConfig:
    n_epochs: int = 200
    lr: float = 2e-4
    batch_size: int = 8
    lr_step: int = 250
    lr_gamma: float = 0.5
    clip_grad: float = 100.0
    eval_every: int = 10
    save_every: int = 0
    flip: bool = True
    seed: int = 0
    n_show: int = 32
    channels_last: bool = True  # NHWC activations: faster convolutions on CPU (oneDNN) and GPU
    labeled_fraction: float = 0.25  # share of labelled faces per batch when the train set also has unlabelled ones
    amp: bool = False  # mixed precision: autocast to bfloat16 (float16 with loss scaling on GPUs without bf16)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast type of --amp: bfloat16 (same range as float32, no loss scaling needed) where the device
    has it, else float16 (with a GradScaler)."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def _rng_state(gen: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "batches": gen.get_state(),
             "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["batches"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Trains ``model`` on ``train``, validating on ``val``, writing everything into the run folder."""

    def __init__(self, model: FaceModel, train: FaceSet, val: FaceSet, cfg: TrainConfig, out: Path,
                 device: torch.device, flags: dict):
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.model = model.to(device, memory_format=fmt)
        self.cfg, self.out, self.device, self.flags = cfg, out, device, flags
        self.train_data = DeviceFaces(train, device, cfg.channels_last)
        self.val_data = DeviceFaces(val, device, cfg.channels_last)
        fused = device.type == "cuda"
        self.opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused, foreach=None if fused else True)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
        self.amp_dtype = amp_dtype(device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and self.amp_dtype == torch.float16)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.epoch = 0
        self.history: list[dict] = []
        self.latent_var: list[torch.Tensor] = []
        n_show = min(cfg.n_show, len(val))
        self.show = self.val_data.batch(torch.arange(n_show, device=device))

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "scaler": self.scaler.state_dict(), "epoch": self.epoch,
                "rng": _rng_state(self.gen), "history": self.history,
                "latent_var": torch.stack(self.latent_var) if self.latent_var else torch.zeros(0), "flags": self.flags,
                "train_config": asdict(self.cfg)}

    def save(self) -> None:
        state = self.state()
        save_checkpoint(self.out / LAST, state)
        if self.cfg.save_every and self.epoch % self.cfg.save_every == 0:
            save_checkpoint(self.out / f"checkpoints/epoch_{self.epoch}.pt", state)

    def resume(self) -> None:
        """Continue exactly where ``checkpoints/last.pt`` stopped (weights, optimizer, schedule, RNGs)."""
        path = self.out / LAST
        ckpt = load_checkpoint(path)
        load_model_state(self.model, ckpt["model"], path)
        self.opt.load_state_dict(ckpt["optimizer"])
        self.sched.load_state_dict(ckpt["scheduler"])
        if "scaler" in ckpt:  # absent in checkpoints written before --amp existed
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.history = ckpt["epoch"], ckpt["history"]
        self.latent_var = list(ckpt["latent_var"])  # (epochs, L): one tensor pickles far faster than a list
        _set_rng_state(ckpt["rng"], self.gen)

    # ---- one epoch -----------------------------------------------------------------------------
    def train_epoch(self) -> dict[str, float]:
        """One pass over the training faces. Per step only the model's own work runs: the loss terms and
        posterior means stay on the device and are summed once at the end of the epoch."""
        self.model.train()
        if self.train_data.labelled.all():
            batches = self.train_data.shuffled(self.cfg.batch_size, self.gen, flip=self.cfg.flip)
            steps = math.ceil(len(self.train_data) / self.cfg.batch_size)
        else:  # semi-supervised: one pass over the unlabelled faces, a fixed labelled share per batch
            steps = self.train_data.mixed_split(self.cfg.batch_size, self.cfg.labeled_fraction)[2]
            batches = self.train_data.mixed(self.cfg.batch_size, self.gen, self.cfg.labeled_fraction,
                                            flip=self.cfg.flip)
        terms, sizes, mus = {k: [] for k in TERMS}, [], []
        for batch in tqdm(batches, total=steps, leave=False, disable=steps < 100, desc=f"epoch {self.epoch + 1}"):
            with record_function("forward"), torch.autocast(self.device.type, self.amp_dtype, enabled=self.cfg.amp):
                out = self.model.loss(batch.x, batch.y, batch.labelled)
            with record_function("backward"):
                self.opt.zero_grad(set_to_none=True)
                self.scaler.scale(out["loss"]).backward()
            with record_function("optimizer"):
                self.scaler.unscale_(self.opt)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
                self.scaler.step(self.opt)
                self.scaler.update()
            for k in TERMS:
                terms[k].append(out[k].detach())
            sizes.append(batch.x.shape[0])
            mus.append(out["mu"])
        self.sched.step()
        mu = torch.cat(mus).double()
        self.latent_var.append(mu.var(0, correction=0).float().cpu())
        weights = torch.tensor(sizes, dtype=torch.float64, device=self.device)
        sums = torch.stack([torch.stack(terms[k]).double() @ weights for k in TERMS])
        return dict(zip(TERMS, (sums / weights.sum()).tolist(), strict=True))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean loss terms over the validation set (eval-mode BatchNorm, no gradients)."""
        self.model.eval()
        sums = torch.zeros(len(TERMS), device=self.device, dtype=torch.float64)
        for batch in self.val_data.in_order(256):
            out = self.model.loss(batch.x, batch.y, batch.labelled)
            sums += torch.stack([out[k] for k in TERMS]).double() * batch.x.shape[0]
        return dict(zip(TERMS, (sums / len(self.val_data)).tolist(), strict=True))

    @torch.no_grad()
    def save_reconstructions(self) -> None:
        self.model.eval()
        recon = self.model.reconstruct(self.show.x, self.show.y)
        plots.save_grid(recon, self.out / f"iterations/iter_{self.epoch}.png")

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self) -> list[dict]:
        """Train until ``n_epochs``; write training.csv, grids and a checkpoint after every epoch."""
        cfg = self.cfg
        if self.epoch == 0:
            plots.save_grid(self.show.x, self.out / "iterations/original.png")
        bar = tqdm(range(self.epoch, cfg.n_epochs), initial=self.epoch, total=cfg.n_epochs, desc="training",
                   file=sys.stderr, dynamic_ncols=True)
        for _ in bar:
            start = time.perf_counter()
            lr = self.opt.param_groups[0]["lr"]
            train = self.train_epoch()
            if not all(math.isfinite(v) for v in train.values()):
                raise FacegenError(f"training diverged at epoch {self.epoch + 1} (loss {train['loss']}); the last "
                                   f"good checkpoint is {self.out / LAST}: lower --lr and resume with --resume")
            self.epoch += 1
            row = {"epoch": self.epoch, **{f"train_{k}": v for k, v in train.items()}}
            if self.epoch % cfg.eval_every == 0 or self.epoch == cfg.n_epochs or self.epoch == 1:
                row.update({f"val_{k}": v for k, v in self.evaluate().items()})
                self.save_reconstructions()
            else:
                row.update({f"val_{k}": None for k in TERMS})
            row.update(lr=lr, seconds=round(time.perf_counter() - start, 4))
            self.history.append(row)
            self.save()
            self.write_csv()
            bar.set_postfix(loss=f"{train['loss']:.1f}", val=f"{self.last_val():.1f}")
        bar.close()
        self.write_figures()
        return self.history

    def last_val(self) -> float:
        vals = [r["val_loss"] for r in self.history if r["val_loss"] is not None]
        return vals[-1] if vals else float("nan")

    def write_csv(self) -> None:
        write_csv(self.out / "training.csv", list(self.history[0]), (list(r.values()) for r in self.history))

    def write_figures(self) -> None:
        """The loss curves, latent-variance heatmaps and the GIF of reconstructions."""
        if not self.history:
            return
        plots.plot_training(self.history, self.out / "plots/training.png")
        frames = sorted((self.out / "iterations").glob("iter_*.png"), key=lambda p: int(p.stem.split("_")[1]))
        plots.save_gif(frames, self.out / "training.gif")
        var = torch.stack(self.latent_var).numpy()
        epochs = list(range(1, len(var) + 1))
        plots.plot_latent_variance(var, epochs, self.out / "plots/latent_var.png", "latent variance per epoch")
        k = min(50, len(var))
        plots.plot_latent_variance(var[:k], epochs[:k], self.out / "plots/latent_var_first_50.png",
                                   f"latent variance, first {k} epochs")
        plots.plot_latent_variance(var[-k:], epochs[-k:], self.out / "plots/latent_var_last_50.png",
                                   f"latent variance, last {k} epochs")
