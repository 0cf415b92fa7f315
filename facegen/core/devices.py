"""Which device a script runs on."""

from __future__ import annotations

import torch

from facegen.core.errors import FacegenError


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda if present, else cpu; a cuda request without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FacegenError(f"--device {name!r} is not a device: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FacegenError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu")
    return device
