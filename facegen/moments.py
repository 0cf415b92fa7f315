"""Running mean and variance over batches (Welford / Chan's parallel update), kept on the device."""

from __future__ import annotations

import torch


class RunningMoments:
    """Per-dimension mean and variance of a stream of (B, D) batches without storing them."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: torch.Tensor | None = None
        self.m2: torch.Tensor | None = None

    def update(self, batch: torch.Tensor) -> None:
        """Merge one batch: the exact combined moments of everything seen so far."""
        batch = batch.detach().double()
        n_b = batch.shape[0]
        mean_b = batch.mean(0)
        m2_b = (batch - mean_b).square().sum(0)
        if self.mean is None:
            self.count, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        total = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2_b + delta.square() * (self.count * n_b / total)
        self.count = total

    def variance(self) -> torch.Tensor:
        """Population variance per dimension (zeros before any data)."""
        if self.m2 is None:
            return torch.zeros(0)
        return (self.m2 / max(self.count, 1)).float().cpu()
