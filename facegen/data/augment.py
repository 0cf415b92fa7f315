"""Photometric augmentation of float image batches, drawn from a seeded generator and run on the batch's device."""

from __future__ import annotations

import torch

from facegen.core.errors import FacegenError

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 grey of R, G, B (as torchvision's rgb_to_grayscale)


def color_jitter(x: torch.Tensor, generator: torch.Generator, brightness: float = 0.1, contrast: float = 0.1,
                 saturation: float = 0.1) -> torch.Tensor:
    """``x`` (B, C, H, W) in [0, 1], C in {1, 3}, with a random brightness, contrast and saturation per image.

    Each strength s gives a factor f ~ U[1 - s, 1 + s] per image, applied in this order, each result clamped
    to [0, 1]:  brightness  f x;  contrast  f x + (1 - f) mean(grey(x));  saturation  f x + (1 - f) grey(x)
    (grey is x itself for C = 1, so saturation leaves grey images unchanged). Factors are drawn on the
    generator's device, three per image, in that order.
    """
    strengths = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
    bad = next((k for k, s in strengths.items() if not 0 <= s <= 1), None)
    if bad is not None:
        raise FacegenError(f"colour jitter {bad} must lie in [0, 1], not {strengths[bad]}")
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"color_jitter expects (B, 1 or 3, H, W) images, got {tuple(x.shape)}")
    u = torch.rand(x.shape[0], 3, generator=generator, device=generator.device).to(x.device, x.dtype)
    s = torch.tensor([brightness, contrast, saturation], device=x.device, dtype=x.dtype)
    f = (1 + s * (2 * u - 1)).view(-1, 3, 1, 1, 1)
    x = (f[:, 0] * x).clamp(0, 1)
    x = (f[:, 1] * x + (1 - f[:, 1]) * _grey(x).mean((1, 2, 3), keepdim=True)).clamp(0, 1)
    return (f[:, 2] * x + (1 - f[:, 2]) * _grey(x)).clamp(0, 1)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) luma of RGB images; grey images themselves."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)
