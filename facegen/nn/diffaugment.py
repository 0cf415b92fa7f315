"""DiffAugment (Zhao et al. 2020): random, differentiable augmentations applied to every image the discriminator
sees, real and fake alike, so a GAN can train on few images without the generator learning the augmentations.

Ops (each with its own per-image random draw, ranges as in the authors' code, nothing clamped):

- color:       brightness  x + (r - 1/2);  saturation  (x - mean_c) 2r + mean_c;  contrast  (x - mean) (r + 1/2) + mean
               (mean_c over channels per pixel, mean over the whole image; r ~ U[0, 1) per image and per op).
- translation: content moved by an integer (dy, dx) with |dy| <= round(H / 8), |dx| <= round(W / 8), uniform;
               pixels moved in from outside are 0.
- cutout:      a round(H / 2) x round(W / 2) rectangle set to 0, its centre uniform over the image (for even sizes,
               over the H + 1 corner positions), clipped at the border.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from facegen.core.errors import FacegenError

TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, C, H, W) put through the comma-separated ops of ``policy`` in order ("" is the identity).

    Random draws come from ``generator`` (on its own device; one on ``x``'s device saves a copy) or from the
    global RNG of ``x``'s device. Every op is a tensor op on ``x``'s device, and gradients flow back to ``x``.
    """
    for name in parse_policy(policy):
        for op in OPS[name]:
            x = op(x, generator)
    return x


def parse_policy(policy: str) -> list[str]:
    """The op names of ``policy`` ("color,translation"); a one-line FacegenError for an unknown one."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise FacegenError(f"unknown DiffAugment op {unknown[0]!r} in policy {policy!r}: use a comma-separated "
                           f"list of {', '.join(OPS)} (or '' for none)")
    return names


def _rand(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) per image, shaped (B, 1, 1, 1) to broadcast over x."""
    device = generator.device if generator is not None else x.device
    r = torch.rand(x.shape[0], generator=generator, device=device)
    return r.to(x.device, x.dtype).view(-1, 1, 1, 1)


def _randint(low: int, high: int, n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Integers uniform on [low, high) (high exclusive), (n, 1, 1), on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, (n, 1, 1), generator=generator, device=device).to(x.device)


def brightness(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return x + (_rand(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (2 * _rand(x, generator)) + mean


def contrast(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """out[:, :, i, j] = x[:, :, i - dy, j - dx], 0 where that lies outside the image."""
    b, c, h, w = x.shape
    sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy, dx = _randint(-sh, sh + 1, b, x, generator), _randint(-sw, sw + 1, b, x, generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy  # (B, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx  # (B, 1, W)
    inside = ((rows >= 0) & (rows < h)) & ((cols >= 0) & (cols < w))  # (B, H, W)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).reshape(b, 1, h * w).expand(b, c, h * w)
    moved = x.reshape(b, c, h * w).gather(2, index).view(b, c, h, w)
    return moved * inside.unsqueeze(1).to(x.dtype)


def cutout(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """x with a size_h x size_w rectangle per image set to 0 (top row = centre - size // 2)."""
    b, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = _randint(0, h + 1 - size_h % 2, b, x, generator) - size_h // 2  # (B, 1, 1)
    left = _randint(0, w + 1 - size_w % 2, b, x, generator) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)  # (B, H, W)
    return x * (~hole).unsqueeze(1).to(x.dtype)


Op = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]
OPS: dict[str, tuple[Op, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
