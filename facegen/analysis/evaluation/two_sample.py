"""A classifier two-sample test: can a small network tell two sets of images apart?

A small convolutional classifier is trained to tell set A from set B (equal counts, the larger set subsampled)
and scored on held-out folds (k-fold cross-validation). Its held-out accuracy is 0.5 when the sets are
indistinguishable to it and 1.0 when it always tells them apart (Lopez-Paz & Oquab 2017, "Revisiting classifier
two-sample tests"). Used on mouths: edited mouths against real smiling mouths of other people, with two halves of
the real smiling mouths against each other as the floor.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _classifier(channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, 1))


def held_out_accuracy(a: torch.Tensor, b: torch.Tensor, folds: int = 5, epochs: int = 30, seed: int = 0) -> dict:
    """Mean (and sd over folds) held-out accuracy of telling images ``a`` from ``b`` (N, C, S, S) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    n = min(len(a), len(b))
    if n < folds:
        return {"accuracy": float("nan"), "sd": float("nan"), "per_class": n}
    a = a[torch.randperm(len(a), generator=g)[:n]].float()
    b = b[torch.randperm(len(b), generator=g)[:n]].float()
    x = torch.cat([a, b])
    y = torch.cat([torch.zeros(n), torch.ones(n)])
    order = torch.randperm(2 * n, generator=g)
    scores = []
    for part in np.array_split(order.numpy(), folds):
        test = torch.from_numpy(part)
        train = order[~torch.isin(order, test)]
        torch.manual_seed(seed)
        net = _classifier(x.shape[1])
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        for _ in range(epochs):
            for batch in train[torch.randperm(len(train), generator=g)].split(32):
                xb = x[batch]
                if torch.rand((), generator=g) < 0.5:
                    xb = xb.flip(-1)
                loss = nn.functional.binary_cross_entropy_with_logits(net(xb)[:, 0], y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            scores.append(float(((net(x[test])[:, 0] > 0).float() == y[test]).float().mean()))
    return {"accuracy": float(np.mean(scores)), "sd": float(np.std(scores)), "per_class": n}
