"""Whether a photo is in colour: in a black-and-white photo, or one lightly tinted throughout (a faint sepia), the
CIELAB colour channels a, b barely move from their mean. An edit drawn in colour (a model's change, another person's
mouth) would show on it, so the editors draw in grey there."""

from __future__ import annotations

import cv2
import numpy as np
import torch

MONOCHROME = 1.0  # CIELAB a/b levels: a photo whose colour varies less than this about its mean is monochrome


def monochrome(lab: np.ndarray) -> np.ndarray:
    """Whether each CIELAB image (..., H, W, 3), as OpenCV's 8-bit conversion gives it, is monochrome: its a/b
    channels stay within :data:`MONOCHROME` of their mean on average."""
    ab = lab[..., 1:].astype(np.float32)
    return np.abs(ab - ab.mean((-3, -2), keepdims=True)).mean((-3, -2, -1)) < MONOCHROME


def is_monochrome(image: torch.Tensor) -> bool:
    """Whether an image (C, H, W) in [0, 1] is monochrome (one channel always is)."""
    if image.shape[0] == 1:
        return True
    rgb = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return bool(monochrome(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)))
