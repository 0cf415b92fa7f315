"""DC-GAN networks (Radford et al. 2016) for any square size from 32 to 128 px and 1 or 3 channels.

Both networks walk the sizes of :func:`facegen.nn.conv.level_sizes` (64 -> 32 -> 16 -> 8 -> 4,
50 -> 25 -> 13 -> 7 -> 4) with the DC-GAN's 4x4 stride-2 convolutions, whose padding is chosen per level so every
intermediate size is exact (:func:`down_conv`, :func:`up_conv`). Channels double per level away from the image
(``base``, 2 ``base``, ... capped at ``max_channels``): the 64 px networks are the paper's (100 -> 512x4x4 -> ...
-> 64x32x32 -> 3x64x64 and back). Images are in [-1, 1] (the generator ends in tanh), the DC-GAN convention that
DiffAugment's colour ops assume.

- :class:`Generator`: z (+ condition y, concatenated) -> linear to the 4 px map, then transposed convolutions;
  BatchNorm and ReLU after every layer but the last. The linear layer is the paper's 4x4 transposed convolution
  of a 1x1 code written as a matrix: its weight (C * 4 * 4, latent) is that convolution's (latent, C, 4, 4)
  reshaped. It exposes the matrix applied to z (:meth:`Generator.z_weight`, SeFa) and the activation after its
  first transposed-convolution block (:meth:`Generator.features`, GANSpace).
- :class:`Discriminator`: convolutions with LeakyReLU 0.2, normalisation after every level but the first
  (``norm``: batch, instance or none; none for a WGAN-GP critic), then one linear logit. A conditional one is a
  projection discriminator (Miyato & Koyama 2018): logit = w . h + (V y) . h for the flattened features h, so
  the condition enters as an inner product with what the network sees.
"""

from __future__ import annotations

import torch
from torch import nn

from facegen.nn.conv import level_channels, level_sizes
from facegen.nn.norm import conv_bias, norm_layer

INIT_STD = 0.02  # the DC-GAN paper's N(0, 0.02) initialisation


def down_conv(c_in: int, c_out: int, size_in: int, bias: bool = True) -> nn.Conv2d:
    """A 4x4 stride-2 convolution from ``size_in`` to ceil(size_in / 2): padding 1 for even, 2 for odd sizes
    (out = floor((size_in + 2 p - 4) / 2) + 1)."""
    return nn.Conv2d(c_in, c_out, 4, stride=2, padding=1 if size_in % 2 == 0 else 2, bias=bias)


def up_conv(c_in: int, c_out: int, size_in: int, size_out: int, bias: bool = True) -> nn.ConvTranspose2d:
    """A 4x4 stride-2 transposed convolution from ``size_in`` to ``size_out`` = 2 size_in (padding 1) or
    2 size_in - 1 (padding 2, output_padding 1): out = 2 (size_in - 1) - 2 p + 4 + output_padding."""
    if size_out == 2 * size_in:
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)
    if size_out == 2 * size_in - 1:
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=2, output_padding=1, bias=bias)
    raise ValueError(f"a stride-2 layer cannot go from {size_in} to {size_out} px")


def dcgan_init(module: nn.Module) -> None:
    """The DC-GAN initialisation of every layer in ``module``: convolution and linear weights ~ N(0, 0.02),
    normalisation scales ~ N(1, 0.02), every bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm | nn.InstanceNorm2d) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """Noise z (B, latent) and condition y (B, cond_dim) -> image (B, channels, size, size) in [-1, 1]."""

    def __init__(self, size: int, channels: int, latent: int, cond_dim: int = 0, base: int = 64,
                 max_channels: int = 512):
        super().__init__()
        sizes = level_sizes(size)
        chans = level_channels(len(sizes) - 1, base, max_channels)
        self.start = (chans[-1], sizes[-1], sizes[-1])
        self.cond_dim = cond_dim
        self.fc = nn.Linear(latent + cond_dim, chans[-1] * sizes[-1] ** 2, bias=False)
        self.fc_norm = nn.Sequential(nn.BatchNorm2d(chans[-1]), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        for i in range(len(chans) - 1, 0, -1):  # from the map at sizes[i + 1] (chans[i]) to sizes[i] (chans[i - 1])
            layers += [up_conv(chans[i], chans[i - 1], sizes[i + 1], sizes[i], bias=False),
                       nn.BatchNorm2d(chans[i - 1]), nn.ReLU(inplace=True)]
        self.first_block = min(3, len(layers))  # layers of net in the first block: up_conv, BatchNorm, ReLU
        layers += [up_conv(chans[0], channels, sizes[1], sizes[0]), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def stem(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The 4 px map ReLU(BN(A z + B y)) that the transposed convolutions start from."""
        if self.cond_dim:
            z = torch.cat([z, y.to(z.dtype)], dim=1)
        return self.fc_norm(self.fc(z).view(-1, *self.start))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.stem(z, y))

    def z_weight(self) -> torch.Tensor:
        """A (C * 4 * 4, latent): the columns of the first layer's weight that multiply z, so that the layer's
        output is A z + B y (no bias), rows in the order of the (C, 4, 4) map; float32, detached."""
        return self.fc.weight[:, :self.fc.in_features - self.cond_dim].detach().float()

    def features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The activation after the first transposed-convolution block (BatchNorm and ReLU included; the 4 px
        map when there is no such block), flattened to (N, D) in float32: 256 x 8 x 8 for the 64 px DC-GAN."""
        return self.net[:self.first_block](self.stem(z, y)).flatten(1).float()


class Discriminator(nn.Module):
    """Image (B, channels, size, size) in [-1, 1] (and condition y) -> one logit per image (B,), and the
    activations after any of its ``n_levels`` conv levels (1 = the first, at size / 2)."""

    def __init__(self, size: int, channels: int, cond_dim: int = 0, base: int = 64, max_channels: int = 512,
                 norm: str = "batch"):
        super().__init__()
        sizes = level_sizes(size)
        chans = level_channels(len(sizes) - 1, base, max_channels)
        levels = [nn.Sequential(down_conv(channels, chans[0], sizes[0]), nn.LeakyReLU(0.2, inplace=True))]
        for i in range(1, len(chans)):
            levels.append(nn.Sequential(down_conv(chans[i - 1], chans[i], sizes[i], bias=conv_bias(norm)),
                                        norm_layer(norm, chans[i]), nn.LeakyReLU(0.2, inplace=True)))
        self.levels = nn.ModuleList(levels)
        features = chans[-1] * sizes[-1] ** 2
        self.head = nn.Linear(features, 1)
        self.cond_dim = cond_dim
        self.embed = nn.Linear(cond_dim, features, bias=False) if cond_dim else None
        self.level_shapes = [(c, s, s) for c, s in zip(chans, sizes[1:], strict=True)]
        dcgan_init(self)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits_and_features(x, y)[0]

    def logits_and_features(self, x: torch.Tensor, y: torch.Tensor | None = None,
                            level: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits (B,), the activations after conv level ``level`` (or None)) from one pass."""
        feature = None
        h = x
        for i, block in enumerate(self.levels, start=1):
            h = block(h)
            if i == level:
                feature = h
        h = h.flatten(1)
        logits = self.head(h).squeeze(1)
        if self.embed is not None:
            logits = logits + (self.embed(y.to(h.dtype)) * h).sum(1)
        return logits, feature
