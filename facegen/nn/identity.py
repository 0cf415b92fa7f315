"""The project's face-identity embedding network: a small residual CNN from a face crop to a unit vector.

Layout (residual blocks like ArcFace's "IR" ResNets, shrunk for 64-px faces): a 3x3 stem conv (stride 1, or 2
to halve the image first), three residual stages that each halve it (64 -> 32 -> 16 -> 8 px after a stride-1
stem, 32 -> 16 -> 8 -> 4 after a stride-2 one), then BatchNorm, flatten (the head keeps *where* a feature
is, which matters for faces), a linear layer to ``dim`` numbers and a last BatchNorm. Distances between the
L2-normalised outputs compare faces; :meth:`IdentityNet.embed` averages a face and its mirror image first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STAGES = 3  # stride-2 stages: 64 px -> 8 px


class IRBlock(nn.Module):
    """BN -> 3x3 conv (stride) -> BN -> PReLU -> 3x3 conv -> BN, plus a shortcut: out = residual(x) + shortcut(x).
    Where the shape changes the shortcut is a 2x2 average pool (ceil mode, so n -> ceil(n / 2) like the strided
    conv) then a 1x1 conv + BN (ResNet-D's shortcut; it also avoids a strided 1x1 conv, whose backward pass
    corrupts memory on CPUs in channels-last layout with torch 2.14)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.PReLU(c_out), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out))
        pool = nn.AvgPool2d(stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
        self.shortcut = (nn.Identity() if c_in == c_out and stride == 1 else
                         nn.Sequential(pool, nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def stage_size(size: int, stem_stride: int = 1) -> int:
    """Side of the last feature map: each 3x3 stride-2 conv with padding 1 maps n to ceil(n / 2)."""
    for _ in range(STAGES + (stem_stride == 2)):
        size = -(-size // 2)
    return size


class IdentityNet(nn.Module):
    """Images in [0, 1] (B, C, H, W) -> embeddings (B, dim), not yet normalised. ``width`` channels in the stem,
    doubled at every stage; ``blocks`` residual blocks per stage (the first one halves the image)."""

    def __init__(self, channels: int = 3, size: int = 64, dim: int = 128, width: int = 32, blocks: int = 1,
                 dropout: float = 0.0, stem_stride: int = 1):
        super().__init__()
        self.channels, self.size, self.dim = channels, size, dim
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, stride=stem_stride, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.PReLU(width))
        layers, c = [], width
        for _ in range(STAGES):
            layers += [IRBlock(c, 2 * c, 2)] + [IRBlock(2 * c, 2 * c, 1) for _ in range(blocks - 1)]
            c *= 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(c), nn.Dropout(dropout), nn.Flatten(),
                                  nn.Linear(c * stage_size(size, stem_stride) ** 2, dim), nn.BatchNorm1d(dim))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] of any size and channel count -> this net's input (resized, then (x - 0.5) / 0.25)."""
        if x.shape[1] != self.channels:
            x = x.expand(-1, self.channels, -1, -1) if x.shape[1] == 1 else x.mean(1, keepdim=True)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        return (x - 0.5) / 0.25

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(self.prepare(x))))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit embeddings (B, dim): the normalised sum of the embeddings of each face and its mirror image."""
        return F.normalize(self(x) + self(x.flip(-1)), dim=1)


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - a_i . b_i for rows of unit vectors (0: the same direction, 1: orthogonal, 2: opposite)."""
    return 1 - (a * b).sum(1)
