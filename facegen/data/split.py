"""The one train / validation split: by face, or by group (a person) so nobody is on both sides."""

from __future__ import annotations

import torch


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted (train, validation) positions of ``n`` items, fixed per seed; validation gets at least one item
    (none when n is 1)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(n * val_fraction)) if n > 1 else 0
    return perm[n_val:].sort().values, perm[:n_val].sort().values


def split_groups(groups: torch.Tensor, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted (train, validation) positions of items labelled with integer ``groups`` (e.g. a person id): the
    groups are split with :func:`split_indices`, so every group lies wholly on one side."""
    ids = torch.unique(groups)
    train_ids, val_ids = split_indices(len(ids), val_fraction, seed)
    in_val = torch.isin(groups, ids[val_ids])
    return torch.nonzero(~in_val).flatten(), torch.nonzero(in_val).flatten()
