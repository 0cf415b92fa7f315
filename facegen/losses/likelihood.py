"""Flow likelihood on quantised images: uniform dequantisation to [-0.5, 0.5) and bits per dimension.

An n-bit image has 2^n levels per dimension; level k occupies the bin [k / 2^n - 0.5, (k + 1) / 2^n - 0.5). With
uniform noise inside the bin, a continuous density p gives the discrete model P(k) >= E_u p(x) * 2^(-n D), so
bits/dim = (-log p(x) + D log 2^n) / (D log 2), and a density uniform on [-0.5, 0.5)^D scores exactly n bits/dim.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from facegen.core.errors import FacegenError


def _check_bits(n_bits: int) -> None:
    if not 1 <= n_bits <= 8:
        raise FacegenError(f"n_bits={n_bits}: the number of bits per colour must be 1 to 8 (Glow used 5 for faces)")


def quantise(x: Tensor, n_bits: int) -> Tensor:
    """uint8 (0..255) or float images in [0, 1] -> integer levels floor(v / 2^(8 - n)), v = round(255 x), as int64."""
    _check_bits(n_bits)
    if x.dtype == torch.uint8:
        v = x.long()
    elif x.is_floating_point():
        if bool(torch.logical_or(x < 0, x > 1).any()):
            raise FacegenError("preprocess: float images must lie in [0, 1]: divide uint8 images by 255 first")
        v = torch.round(x.double() * 255).long()
    else:
        raise FacegenError(f"preprocess: images of dtype {x.dtype} are not supported: pass uint8 or float in [0, 1]")
    return torch.div(v, 2 ** (8 - n_bits), rounding_mode="floor")


def preprocess(x: Tensor, n_bits: int, generator: torch.Generator | None = None) -> Tensor:
    """Images -> x = k / 2^n + u - 0.5 with k the n-bit level and u ~ U[0, 1 / 2^n), so x lies in k's bin.

    Float32 output (float64 for float64 input). Where k + u would round up onto the bin's upper edge in that precision,
    the value is the largest float below the edge instead, so every value stays inside its own bin.
    """
    k = quantise(x, n_bits)
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    bins = 2**n_bits
    lower = k.to(dtype) / bins - 0.5
    upper = (k + 1).to(dtype) / bins - 0.5
    u = torch.rand(k.shape, generator=generator, device=k.device, dtype=dtype)
    return torch.minimum(lower + u / bins, torch.nextafter(upper, lower))


def postprocess(x: Tensor, n_bits: int) -> Tensor:
    """Model space [-0.5, 0.5) -> images in [0, 1]: level k = floor((x + 0.5) 2^n), shown as k / (2^n - 1).

    Samples may leave [-0.5, 0.5); their levels are clipped to 0 .. 2^n - 1, as any image writer must.
    For n = 8, ``postprocess(preprocess(img, 8), 8) == img / 255`` exactly.
    """
    _check_bits(n_bits)
    bins = 2**n_bits
    k = torch.floor((x.double() + 0.5) * bins).clamp(0, bins - 1)
    return (k / (bins - 1)).to(x.dtype if x.is_floating_point() else torch.float32)


def bits_per_dim(log_prob: Tensor, n_dims: int, n_bits: int) -> Tensor:
    """(-log p(x) + D log 2^n) / (D log 2): bits per dimension of the discrete n-bit data from a density in nats."""
    _check_bits(n_bits)
    return (-log_prob + n_dims * n_bits * math.log(2)) / (n_dims * math.log(2))
