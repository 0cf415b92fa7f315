"""Mixed precision (--amp): which autocast type a device gets."""

from __future__ import annotations

import torch


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 (float32's range, no loss scaling needed) where the device has it, else float16 (which needs a
    GradScaler)."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16
