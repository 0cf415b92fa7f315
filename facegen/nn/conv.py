"""One parametric convolutional encoder / decoder for any square size and 1 or 3 channels.

The encoder halves the image with stride-2 convolutions until it is at most 4 px wide; the
decoder mirrors it with transposed convolutions whose ``output_padding`` restores each exact
intermediate size, so odd sizes such as 50 px (50 -> 25 -> 13 -> 7 -> 4) round-trip exactly.
No flatten size is hard-coded: it follows from the size list.
"""

from __future__ import annotations

import torch
from torch import nn


def level_sizes(size: int, smallest: int = 4) -> list[int]:
    """Spatial sizes from the input down to the bottleneck, e.g. 50 -> [50, 25, 13, 7, 4]."""
    sizes = [size]
    while sizes[-1] > smallest:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def level_channels(n_levels: int, base: int, max_channels: int) -> list[int]:
    """Feature channels after each stride-2 level: base, 2 base, 4 base, ... capped."""
    return [min(base * 2**i, max_channels) for i in range(n_levels)]


def _block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True))


class Encoder(nn.Module):
    """Image (B, C, S, S) plus optional condition (B, K) -> feature vector (B, out_features).

    The condition enters as K constant extra input planes, so every filter can see it.
    """

    def __init__(self, size: int, channels: int, cond_dim: int = 0, base: int = 32, max_channels: int = 256):
        super().__init__()
        self.sizes = level_sizes(size)
        chans = level_channels(len(self.sizes) - 1, base, max_channels)
        layers, c_in = [], channels + cond_dim
        for c_out in chans:
            layers.append(_block(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), c_out))
            c_in = c_out
        self.net = nn.Sequential(*layers)
        self.cond_dim = cond_dim
        self.out_features = c_in * self.sizes[-1] ** 2

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_dim:
            planes = y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes.to(x.dtype)], dim=1)
        return self.net(x).flatten(1)


class Decoder(nn.Module):
    """Code (B, in_features) -> image logits (B, C, S, S); ``sigmoid`` of them is the image in [0, 1]."""

    def __init__(self, size: int, channels: int, in_features: int, base: int = 32, max_channels: int = 256):
        super().__init__()
        sizes = level_sizes(size)
        chans = level_channels(len(sizes) - 1, base, max_channels)
        self.start = (chans[-1], sizes[-1], sizes[-1])
        self.fc = nn.Sequential(nn.Linear(in_features, chans[-1] * sizes[-1] ** 2), nn.LeakyReLU(0.2, inplace=True))
        layers = []
        for i in range(len(chans) - 1, 0, -1):
            pad = sizes[i] - (2 * sizes[i + 1] - 1)
            layers.append(_block(nn.ConvTranspose2d(chans[i], chans[i - 1], 3, 2, 1, output_padding=pad,
                                                    bias=False), chans[i - 1]))
        pad = sizes[0] - (2 * sizes[1] - 1)
        layers.append(nn.ConvTranspose2d(chans[0], channels, 3, 2, 1, output_padding=pad))
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(h).view(-1, *self.start))
