"""Minibatches as views of the in-memory image tensor (no decoding, no per-batch host copies), or read from shards
on disk a batch ahead of the step (:mod:`facegen.data.shards`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from facegen.core.distributed import ONE_PROCESS, World
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.data.shards import ShardImages, buffered_order, rank_generator


@dataclass
class Batch:
    x: torch.Tensor  # float (B, C, H, W) in [0, 1]
    y: torch.Tensor  # float (B, K) conditions in [-1, 1]
    labelled: torch.Tensor  # bool (B,)
    source: torch.Tensor | None = None  # float (B, Cs, H, W) in [0, 1]: paired inputs (depth), flipped with x


class DeviceFaces:
    """A FaceSet's tensors moved once to the training device, served as shuffled, flipped batches. Faces kept on
    disk (a FaceSet of :func:`~facegen.data.shards.load_shards`) stay there: only their labels move, and each batch's
    rows are read (one batch ahead, on a thread) and moved when it is served. ``shuffle_buffer`` > 0 makes such an
    epoch WebDataset-like (:meth:`shuffled`); 0, or faces in memory, shuffles over every face."""

    def __init__(self, faces: FaceSet, device: torch.device, channels_last: bool = False, shuffle_buffer: int = 0):
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.on_disk = isinstance(faces.images, ShardImages)
        # batches inherit the layout of images in memory; rows read from disk are given it when they are read
        self.images = faces.images if self.on_disk else faces.images.to(device).contiguous(memory_format=self.fmt)
        self.cond = faces.cond.to(device)
        self.labelled = faces.labelled.to(device)
        self.sources = None if faces.sources is None else faces.sources.to(device).contiguous(memory_format=self.fmt)
        self.device = device
        self.shuffle_buffer = shuffle_buffer if self.on_disk else 0
        self.shards = self.images.shard_of(torch.arange(len(self))) if self.shuffle_buffer else None  # per face

    def __len__(self) -> int:
        return self.images.shape[0]

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """uint8 faces at ``idx`` on the device: a view of the tensor in memory, or read from the shards."""
        if not self.on_disk:
            return self.images[idx]
        return self.images.read(idx).to(self.device).contiguous(memory_format=self.fmt)

    def batch(self, idx: torch.Tensor, flip: torch.Tensor | None = None, rows: torch.Tensor | None = None) -> Batch:
        """Faces (and their paired sources) at ``idx`` as floats in [0, 1]; both mirrored left-right where
        ``flip`` is True. ``rows``: the faces at ``idx`` when they were read already."""
        x = _floats(self.rows(idx) if rows is None else rows, flip)
        source = None if self.sources is None else _floats(self.sources[idx], flip)
        return Batch(x, self.cond[idx], self.labelled[idx], source)

    def serve(self, plan: Iterable[tuple[torch.Tensor, torch.Tensor | None]]) -> Iterator[Batch]:
        """The batches of ``plan`` (positions, flips); faces on disk are read one batch ahead on a thread (a read
        releases the GIL), so the step in hand overlaps the next batch's reading."""
        if not self.on_disk:
            for idx, flip in plan:
                yield self.batch(idx, flip)
            return
        steps = iter(plan)
        with ThreadPoolExecutor(max_workers=1) as reader:
            ahead = next(steps, None)
            pending = None if ahead is None else reader.submit(self.images.read, ahead[0])
            while ahead is not None:
                idx, flip = ahead
                rows = pending.result()
                ahead = next(steps, None)
                pending = None if ahead is None else reader.submit(self.images.read, ahead[0])
                yield self.batch(idx, flip, rows.to(self.device).contiguous(memory_format=self.fmt))

    def shuffled_steps(self, batch_size: int, world: World = ONE_PROCESS) -> int:
        """Batches per epoch of :meth:`shuffled` on each rank."""
        if self.shuffle_buffer:
            return self._buffered_share(world) // batch_size
        n = len(self) // world.size
        return n // batch_size + (n % batch_size * world.size >= 2)

    def _buffered_share(self, world: World) -> int:
        """Faces every rank reads at least, whichever shards the epoch's permutation gives it: the sum of the
        smallest n // world.size counts of the n shards that hold faces of this set."""
        counts = torch.unique(self.shards, return_counts=True)[1]
        per_rank = len(counts) // world.size
        if per_rank == 0:
            raise FacegenError(f"{len(counts)} shard(s) for {world.size} processes: each process reads its own "
                               f"shards, so write more (prepare_data.py --shard_size smaller) or pass "
                               f"--shuffle_buffer 0 (every process reads from every shard)")
        return int(counts.sort().values[:per_rank].sum())

    def shuffled(self, batch_size: int, generator: torch.Generator, flip: bool = True,
                 world: World = ONE_PROCESS, start: int = 0) -> Iterator[Batch]:
        """One epoch in a random order drawn from ``generator`` (a final global batch of one face is dropped,
        since BatchNorm cannot normalise it), from batch ``start`` on (a run resumed within an epoch). With
        several processes every rank draws the same order and
        takes every world.size-th face from its rank on (the same number on every rank), so no face is seen
        twice within an epoch and at most world.size - 1 are left out; step by step the ranks' batches together
        are the one-process batch of world.size * batch_size faces (BatchNorm normalises over that global
        batch, so a final batch of one face per rank is kept).

        Faces on disk with a ``shuffle_buffer``: each rank reads its own shards front to back and a buffer of that
        many faces mixes them (:func:`~facegen.data.shards.buffered_order`); every rank serves the same number of
        batches (:meth:`shuffled_steps`), the faces past it in its shards wait for another epoch."""
        if self.shuffle_buffer:
            mine = rank_generator(generator, world.rank)  # the shared generator moves alike on every rank
            order = buffered_order(self.shards, self.shuffle_buffer, generator, mine, world.rank, world.size)
            flips = (torch.rand(len(order), generator=mine) < 0.5).to(self.device) if flip else None
            cut = [slice(s * batch_size, (s + 1) * batch_size) for s in range(self.shuffled_steps(batch_size, world))]
            yield from self.serve((order[c], None if flips is None else flips[c]) for c in cut[start:])
            return
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.device)
        flips = (torch.rand(n, generator=generator) < 0.5).to(self.device) if flip else None
        if world.distributed:
            share = n // world.size
            order = order[world.rank::world.size][:share]
            flips = None if flips is None else flips[world.rank::world.size][:share]
            n = share

        def plan() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
            for first in range(start * batch_size, n, batch_size):
                idx = order[first:first + batch_size]
                if idx.numel() * world.size < 2:
                    break
                yield idx, None if flips is None else flips[first:first + batch_size]

        yield from self.serve(plan())

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
              flip: bool = True, world: World = ONE_PROCESS, start: int = 0) -> Iterator[Batch]:
        """One epoch = one pass over the unlabelled faces in a random order; every batch also holds a fixed
        share of labelled faces (at least one), taken from back-to-back reshuffled passes over the labelled
        faces so each is seen equally often. All randomness comes from ``generator``. With several processes
        the global batch of each step (world.size times as large) is cut into one slice per rank. ``start``:
        the first batch served (a run resumed within an epoch)."""
        k, m, steps = self.mixed_split(batch_size, labeled_fraction, world)
        k, m, batch_size = k * world.size, m * world.size, batch_size * world.size
        lab = self.labelled.nonzero().squeeze(1).cpu()
        unl = (~self.labelled).nonzero().squeeze(1).cpu()
        unl = unl[torch.randperm(len(unl), generator=generator)]
        passes = math.ceil(steps * k / len(lab))
        lab = torch.cat([lab[torch.randperm(len(lab), generator=generator)] for _ in range(passes)])
        flips = (torch.rand(steps * batch_size, generator=generator) < 0.5).to(self.device) if flip else None

        def plan() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
            for step in range(start, steps):
                lab_idx, unl_idx = lab[step * k:(step + 1) * k], unl[step * m:(step + 1) * m]
                first = step * batch_size
                step_flips = None if flips is None else flips[first:first + len(lab_idx) + len(unl_idx)]
                if world.distributed:
                    lab_idx, unl_idx, step_flips = _rank_slice(lab_idx, unl_idx, step_flips, world)
                yield torch.cat([lab_idx, unl_idx]).to(self.device), step_flips

        yield from self.serve(plan())

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every face once, in order, without augmentation (for evaluation)."""
        yield from self.serve((torch.arange(first, min(first + batch_size, len(self)), device=self.device), None)
                              for first in range(0, len(self), batch_size))


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
