"""Which device a script runs on."""

from __future__ import annotations

import argparse

import torch

from facegen.core.argtypes import device_name
from facegen.core.errors import FacegenError


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda if present, else cpu; an unknown name, or a device that is not there, is a clear error."""
    try:
        name = device_name(name)
    except argparse.ArgumentTypeError as e:
        raise FacegenError(f"--device: {e}") from None
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FacegenError(f"--device {name} was asked for but no CUDA GPU is visible: use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise FacegenError(f"--device {name}: only {n} CUDA GPU{'s' if n > 1 else ''} visible: "
                           f"use --device cuda:0{f' to cuda:{n - 1}' if n > 1 else ''}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise FacegenError("--device mps was asked for but no Apple GPU (MPS) is available: use --device cpu")
    return device
