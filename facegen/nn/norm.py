"""The feature normalisations the image-to-image networks offer, by name."""

from __future__ import annotations

from torch import nn

from facegen.core.errors import FacegenError

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """BatchNorm2d, InstanceNorm2d (with a learnt scale and shift) or nothing, for ``channels`` features."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise FacegenError(f"unknown normalisation {kind!r}: pass one of {', '.join(NORMS)}")


def conv_bias(kind: str) -> bool:
    """Whether a convolution followed by this normalisation needs its own bias (a norm's shift replaces it)."""
    return kind == "none"
