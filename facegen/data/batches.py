"""Minibatches as views of the in-memory image tensor: no decoding, no per-batch host copies."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from facegen.core.distributed import ONE_PROCESS, World
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet


@dataclass
class Batch:
    x: torch.Tensor  # float (B, C, H, W) in [0, 1]
    y: torch.Tensor  # float (B, K) conditions in [-1, 1]
    labelled: torch.Tensor  # bool (B,)
    source: torch.Tensor | None = None  # float (B, Cs, H, W) in [0, 1]: paired inputs (depth), flipped with x


class DeviceFaces:
    """A FaceSet's tensors moved once to the training device, served as shuffled, flipped batches."""

    def __init__(self, faces: FaceSet, device: torch.device, channels_last: bool = False):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.images = faces.images.to(device).contiguous(memory_format=fmt)  # batches inherit the layout
        self.cond = faces.cond.to(device)
        self.labelled = faces.labelled.to(device)
        self.sources = None if faces.sources is None else faces.sources.to(device).contiguous(memory_format=fmt)
        self.device = device

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, idx: torch.Tensor, flip: torch.Tensor | None = None) -> Batch:
        """Faces (and their paired sources) at ``idx`` as floats in [0, 1]; both mirrored left-right where
        ``flip`` is True."""
        x = _floats(self.images[idx], flip)
        source = None if self.sources is None else _floats(self.sources[idx], flip)
        return Batch(x, self.cond[idx], self.labelled[idx], source)

    def shuffled_steps(self, batch_size: int, world: World = ONE_PROCESS) -> int:
        """Batches per epoch of :meth:`shuffled` on each rank."""
        n = len(self) // world.size
        return n // batch_size + (n % batch_size * world.size >= 2)

    def shuffled(self, batch_size: int, generator: torch.Generator, flip: bool = True,
                 world: World = ONE_PROCESS) -> Iterator[Batch]:
        """One epoch in a random order drawn from ``generator`` (a final global batch of one face is dropped,
        since BatchNorm cannot normalise it). With several processes every rank draws the same order and
        takes every world.size-th face from its rank on (the same number on every rank), so no face is seen
        twice within an epoch and at most world.size - 1 are left out; step by step the ranks' batches together
        are the one-process batch of world.size * batch_size faces (BatchNorm normalises over that global
        batch, so a final batch of one face per rank is kept)."""
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.device)
        flips = (torch.rand(n, generator=generator) < 0.5).to(self.device) if flip else None
        if world.distributed:
            share = n // world.size
            order = order[world.rank::world.size][:share]
            flips = None if flips is None else flips[world.rank::world.size][:share]
            n = share
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if idx.numel() * world.size < 2:
                break
            yield self.batch(idx, None if flips is None else flips[start:start + batch_size])

    def mixed_split(self, batch_size: int, labeled_fraction: float,
                    world: World = ONE_PROCESS) -> tuple[int, int, int]:
        """(labelled, unlabelled) faces per batch of :meth:`mixed` and its number of batches per epoch."""
        n_unlabelled = int((~self.labelled).sum())
        if not 0 < labeled_fraction < 1:
            raise FacegenError(f"--labeled_fraction {labeled_fraction} must lie strictly between 0 and 1 (e.g. 0.25)")
        if n_unlabelled == len(self) or batch_size < 2:
            raise FacegenError("mixed batches need labelled and unlabelled training faces and --batch_size >= 2")
        k = min(batch_size - 1, max(1, round(labeled_fraction * batch_size)))
        return k, batch_size - k, math.ceil(n_unlabelled / ((batch_size - k) * world.size))

    def mixed(self, batch_size: int, generator: torch.Generator, labeled_fraction: float,
              flip: bool = True, world: World = ONE_PROCESS) -> Iterator[Batch]:
        """One epoch = one pass over the unlabelled faces in a random order; every batch also holds a fixed
        share of labelled faces (at least one), taken from back-to-back reshuffled passes over the labelled
        faces so each is seen equally often. All randomness comes from ``generator``. With several processes
        the global batch of each step (world.size times as large) is cut into one slice per rank."""
        k, m, steps = self.mixed_split(batch_size, labeled_fraction, world)
        k, m, batch_size = k * world.size, m * world.size, batch_size * world.size
        lab = self.labelled.nonzero().squeeze(1).cpu()
        unl = (~self.labelled).nonzero().squeeze(1).cpu()
        unl = unl[torch.randperm(len(unl), generator=generator)]
        passes = math.ceil(steps * k / len(lab))
        lab = torch.cat([lab[torch.randperm(len(lab), generator=generator)] for _ in range(passes)])
        flips = (torch.rand(steps * batch_size, generator=generator) < 0.5).to(self.device) if flip else None
        for step in range(steps):
            lab_idx, unl_idx = lab[step * k:(step + 1) * k], unl[step * m:(step + 1) * m]
            start = step * batch_size
            step_flips = None if flips is None else flips[start:start + len(lab_idx) + len(unl_idx)]
            if world.distributed:
                lab_idx, unl_idx, step_flips = _rank_slice(lab_idx, unl_idx, step_flips, world)
            idx = torch.cat([lab_idx, unl_idx]).to(self.device)
            yield self.batch(idx, step_flips)

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every face once, in order, without augmentation (for evaluation)."""
        for start in range(0, len(self), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(self)), device=self.device)
            yield self.batch(idx)


def _rank_slice(lab: torch.Tensor, unl: torch.Tensor, flips: torch.Tensor | None,
                world: World) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """This rank's share of one global mixed batch: its slice of the labelled and of the unlabelled faces (the
    last step's unlabelled slice may be short or empty), with the flips that go with them."""
    kl, ku = -(-len(lab) // world.size), -(-len(unl) // world.size)
    mine_lab = torch.arange(len(lab))[world.rank * kl:(world.rank + 1) * kl]
    mine_unl = torch.arange(len(unl))[world.rank * ku:(world.rank + 1) * ku]
    picks = torch.cat([mine_lab, len(lab) + mine_unl])
    return lab[mine_lab], unl[mine_unl], None if flips is None else flips[picks.to(flips.device)]


def _floats(images: torch.Tensor, flip: torch.Tensor | None) -> torch.Tensor:
    """uint8 images as floats in [0, 1], mirrored left-right where ``flip`` (bool (B,)) is True."""
    x = images.float().div_(255)
    return x if flip is None else torch.where(flip[:, None, None, None], x.flip(-1), x)
