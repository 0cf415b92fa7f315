"""GANimation's networks (Pumarola et al. 2018), for one continuous expression condition (the smile degree).

- :class:`AttentionGenerator`: the image (in [-1, 1]) with the target condition broadcast as extra input
  planes -> a 3x3 convolution, two stride-2 4x4 convolutions, ``n_res`` residual blocks, two nearest-neighbour
  upsamplings each followed by a 3x3 convolution (instance normalisation and ReLU throughout), then two 3x3
  heads: a colour image C (tanh) and an attention mask A (sigmoid); U-Net skips from the encoder by default.
  Instance normalisation removes a constant input plane from the features (all but its effect at the border), so
  with ``film`` the condition also scales and shifts the features after the residual blocks and before the heads
  (FiLM, Perez et al. 2018; zero-initialised, so the generator starts as without it).
  (GANimation's 7x7 convolutions and transposed convolutions cost 3x as much on a CPU; upsampling +
  convolution also avoids their checkerboard.) The edited image is ``A * C + (1 - A) * x``: where A is 0 the
  input passes through untouched, so the network only paints what the expression needs.
- :class:`CriticRegressor`: a PatchGAN-style stack of stride-2 4x4 convolutions with LeakyReLU 0.2 and
  spectral normalisation; one head gives a real / fake score per patch, the other regresses the condition of the whole
  image from the features averaged over every position (the discriminator that "also regresses the expression";
  a head with a weight per position was fooled by a stroke painted at one place).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _block(cin: int, cout: int, k: int, s: int, p: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(*_block(ch, ch, 3, 1, 1), nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(ch, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AttentionGenerator(nn.Module):
    """(x (B, C, H, W) in [-1, 1], target (B, K)) -> (edited, colour C, attention A (B, 1, H, W)). With ``skips``
    each upsampling level also sees the encoder's features of its resolution (U-Net style), so the colour image can
    keep the face's own skin and lip tones where it redraws."""

    def __init__(self, channels: int = 3, cond_dim: int = 1, width: int = 32, n_res: int = 4, skips: bool = True,
                 film: bool = False):
        super().__init__()
        self.skips = skips
        extra = 2 if skips else 1  # a skip doubles the channels an upsampling level reads
        self.film = nn.ModuleList([nn.Linear(cond_dim, 2 * c) for c in (4 * width, extra * width)]) if film else None
        for layer in self.film or []:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.inc = nn.Sequential(*_block(channels + cond_dim, width, 3, 1, 1))
        self.down1 = nn.Sequential(*_block(width, 2 * width, 4, 2, 1))
        self.down2 = nn.Sequential(*_block(2 * width, 4 * width, 4, 2, 1))
        self.res = nn.Sequential(*[ResidualBlock(4 * width) for _ in range(n_res)])
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2), *_block(4 * width, 2 * width, 3, 1, 1))
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2), *_block(extra * 2 * width, width, 3, 1, 1))
        self.colour = nn.Sequential(nn.Conv2d(extra * width, channels, 3, 1, 1), nn.Tanh())
        self.attention = nn.Sequential(nn.Conv2d(extra * width, 1, 3, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        planes = target[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        e0 = self.inc(torch.cat([x, planes.to(x.dtype)], 1))
        e1 = self.down1(e0)
        h = self._film(0, self.res(self.down2(e1)), target)
        h = self.up1(torch.cat([self.up2(h), e1], 1) if self.skips else self.up2(h))
        h = self._film(1, torch.cat([h, e0], 1) if self.skips else h, target)
        colour, attention = self.colour(h), self.attention(h)
        return attention * colour + (1 - attention) * x, colour, attention

    def _film(self, k: int, h: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """h (B, C, H, W) * (1 + gamma(target)) + beta(target) by the k-th FiLM layer, or h without them."""
        if self.film is None:
            return h
        gamma, beta = self.film[k](target.to(h.dtype))[:, :, None, None].chunk(2, 1)
        return h * (1 + gamma) + beta


class CriticRegressor(nn.Module):
    """x (B, C, S, S) -> (patch scores (B, 1, S/2^n, S/2^n), condition (B, K)). With ``spectral`` the body's and
    the score's convolutions are spectrally normalised (Miyato et al. 2018: a 1-Lipschitz critic without
    GANimation's gradient penalty, whose double backward a CPU step cannot afford). ``pooled``: the degree is
    regressed from the features averaged over every position, else by one weight per position (GANimation's)."""

    def __init__(self, size: int, channels: int = 3, cond_dim: int = 1, width: int = 32, n_layers: int = 4,
                 spectral: bool = True, pooled: bool = True):
        super().__init__()
        norm = spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        cin = channels
        for i in range(n_layers):
            cout = width * 2**i
            layers += [norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.score = norm(nn.Conv2d(cin, 1, 3, 1, 1))
        side = size // 2**n_layers
        self.regress = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cond_dim, 1)) if pooled \
            else nn.Conv2d(cin, cond_dim, side)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.score(h), self.regress(h).flatten(1)
