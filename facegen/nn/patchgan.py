"""pix2pix's PatchGAN discriminator (Isola et al. 2017): one real / fake logit per overlapping image patch.

``n_layers`` 4x4 stride-2 convolutions (channels base, 2 base, ... capped at ``max_channels``), then a 4x4
stride-1 convolution and a 4x4 stride-1 convolution to one channel; LeakyReLU 0.2 between them,
normalisation after every convolution but the first and the last. Each output logit sees a square patch of
``receptive_field(n_layers)`` = 9 * 2**n_layers - 2 pixels: 70 for pix2pix's 3 layers. The conditional
discriminator of pix2pix sees the source and the image concatenated: ``in_channels`` = 1 + 3 for depth and
an RGB face. ``norm="none"`` is for WGAN-GP, whose per-sample gradient penalty batch statistics would break.
"""

from __future__ import annotations

import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.nn.norm import conv_bias, norm_layer


def receptive_field(n_layers: int) -> int:
    """Side of the input patch one output logit sees: r = 7 after the two stride-1 4x4 convolutions, then
    r -> 2 r + 2 through each stride-2 one, i.e. 9 * 2**n_layers - 2."""
    return 9 * 2**n_layers - 2


def output_size(size: int, n_layers: int) -> int:
    """Side of the logit map for a ``size`` px input: floor(size / 2**n_layers) - 2."""
    return size // 2**n_layers - 2


class PatchGAN(nn.Module):
    """Image (B, in_channels, H, W) -> logits (B, 1, H', W') with H' = output_size(H, n_layers)."""

    def __init__(self, in_channels: int = 3, *, base_channels: int = 64, n_layers: int = 3,
                 max_channels: int = 512, norm: str = "batch"):
        super().__init__()
        if n_layers < 1:
            raise FacegenError(f"a PatchGAN needs n_layers >= 1 (got {n_layers}): pass a larger number")
        bias = conv_bias(norm)
        ch = [min(base_channels * 2**i, max_channels) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ch[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch[i - 1], ch[i], 4, stride, 1, bias=bias), norm_layer(norm, ch[i]),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(ch[n_layers], 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(output_size(s, self.n_layers) for s in x.shape[-2:]) < 1:
            raise FacegenError(f"a PatchGAN of {self.n_layers} layers needs images of at least "
                               f"{3 * 2**self.n_layers} px, got {tuple(x.shape[-2:])}: pass fewer layers")
        return self.net(x)
