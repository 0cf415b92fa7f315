"""The one batched-inference helper: run a function over a large tensor in chunks on a device."""

from __future__ import annotations

from collections.abc import Callable

import torch

BATCH = 256


@torch.no_grad()
def batched(fn: Callable[..., torch.Tensor], *tensors: torch.Tensor, device: torch.device,
            batch_size: int = BATCH) -> torch.Tensor:
    """``fn`` applied to aligned chunks of ``tensors`` (moved to ``device``; uint8 images become floats in
    [0, 1]), results concatenated on the CPU. All tensors share their first dimension."""
    n = len(tensors[0])
    out = []
    for start in range(0, n, batch_size):
        chunk = [t[start:start + batch_size].to(device) for t in tensors]
        chunk = [c.float().div_(255) if c.dtype == torch.uint8 else c for c in chunk]
        out.append(fn(*chunk).cpu())
    return torch.cat(out) if out else torch.zeros(0)
