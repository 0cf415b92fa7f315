"""Minibatches as views of the in-memory image tensor: no decoding, no per-batch host copies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from facegen.data.faceset import FaceSet


@dataclass
class Batch:
    x: torch.Tensor  # float (B, C, H, W) in [0, 1]
    y: torch.Tensor  # float (B, K) conditions in [-1, 1]
    labelled: torch.Tensor  # bool (B,)


class DeviceFaces:
    """A FaceSet's tensors moved once to the training device, served as shuffled, flipped batches."""

    def __init__(self, faces: FaceSet, device: torch.device):
        self.images = faces.images.to(device)
        self.cond = faces.cond.to(device)
        self.labelled = faces.labelled.to(device)
        self.device = device

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, idx: torch.Tensor, flip: torch.Tensor | None = None) -> Batch:
        """Faces at ``idx`` as floats in [0, 1]; mirrored left-right where ``flip`` is True."""
        x = self.images[idx].float().div_(255)
        if flip is not None:
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return Batch(x, self.cond[idx], self.labelled[idx])

    def shuffled(self, batch_size: int, generator: torch.Generator, flip: bool = True) -> Iterator[Batch]:
        """One epoch in a random order drawn from ``generator`` (a final batch of one face is dropped,
        since BatchNorm cannot normalise it)."""
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.device)
        flips = (torch.rand(n, generator=generator) < 0.5).to(self.device) if flip else None
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if idx.numel() < 2:
                break
            yield self.batch(idx, None if flips is None else flips[start:start + batch_size])

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every face once, in order, without augmentation (for evaluation)."""
        for start in range(0, len(self), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(self)), device=self.device)
            yield self.batch(idx)
