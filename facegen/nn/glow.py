"""Multi-scale Glow (Kingma & Dhariwal 2018) with standardised latents: x <-> eps ~ N(0, I) of the image's size.

Level i (of L): squeeze2d, K flow steps (ActNorm, LU 1x1 conv, coupling), then, except at the last level, a Split that
factors half the channels out under a learned conditional prior. The remaining top latent has a learned prior whose
mean and log-std are per-position parameters plus, when ``cond_dim > 0``, a zero-initialised linear map of y.

Every prior is folded into the flow: each factored-out z becomes eps = (z - mu) / sigma (log|det| = -sum log sigma),
so ``encode`` returns eps (B, D), D = C * S * S, with eps ~ N(0, I) exactly under the model, ``decode`` is its exact
inverse, and log p(x | y) = sum of all log-dets + log N(eps; 0, I) (nats, continuous x).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from facegen.core.errors import FacegenError
from facegen.nn.flow_layers import (
    FlowStep,
    Split,
    flow_dtype,
    no_autocast,
    squeeze2d,
    standard_normal_log_prob,
    unsqueeze2d,
)

COUPLINGS = ("affine", "additive")


class Glow(nn.Module):
    """Glow on (B, channels, size, size) images with an optional condition vector y (B, cond_dim).

    Inputs are cast to the model's precision (float32, or float64 after ``.double()``). ``generator`` seeds the
    1x1 convolutions' orthogonal init; the coupling networks' first convs use torch's default init (global RNG).

    ``cond_couplings``: with cond_dim > 0, also feed y to every coupling network as constant planes (default);
    with False only the top prior depends on y, as in OpenAI's class-conditional Glow.
    """

    def __init__(self, size: int, channels: int, levels: int = 3, steps: int = 8, hidden: int = 128,
                 coupling: str = "affine", cond_dim: int = 0, cond_couplings: bool = True,
                 generator: torch.Generator | None = None):
        super().__init__()
        if levels < 1 or steps < 1:
            raise FacegenError(f"Glow: levels={levels}, steps={steps}: both must be at least 1 (e.g. 3 and 8)")
        if size % 2**levels:
            raise FacegenError(f"Glow: image size {size} is not divisible by 2**levels = {2**levels}: resize to a "
                               f"multiple of {2**levels} (e.g. {max(1, round(size / 2**levels)) * 2**levels}) "
                               f"or use fewer levels")
        if coupling not in COUPLINGS:
            raise FacegenError(f"Glow: coupling {coupling!r} is unknown: use one of {', '.join(COUPLINGS)}")
        self.size, self.channels, self.cond_dim = size, channels, cond_dim
        self.dim = channels * size * size
        step_cond = cond_dim if cond_couplings else 0
        self.cond_couplings = cond_couplings and cond_dim > 0
        self.levels = nn.ModuleList()
        self.splits = nn.ModuleList()
        self.eps_shapes: list[tuple[int, int, int]] = []
        c, s = channels, size
        for i in range(levels):
            c, s = 4 * c, s // 2
            self.levels.append(nn.ModuleList(
                FlowStep(c, hidden, step_cond, coupling == "additive", generator) for _ in range(steps)))
            if i < levels - 1:
                split = Split(c)
                self.splits.append(split)
                self.eps_shapes.append((split.n_out, s, s))
                c = split.n_kept
        self.top_shape = (c, s, s)
        self.eps_shapes.append(self.top_shape)
        self.top_mean = nn.Parameter(torch.zeros(self.top_shape))
        self.top_log_std = nn.Parameter(torch.zeros(self.top_shape))
        self.cond_prior = nn.Linear(cond_dim, 2 * math.prod(self.top_shape)) if cond_dim else None
        if self.cond_prior is not None:
            nn.init.zeros_(self.cond_prior.weight)
            nn.init.zeros_(self.cond_prior.bias)

    def _cond(self, y: Tensor | None, batch: int) -> Tensor | None:
        if not self.cond_dim:
            if y is not None:
                raise ValueError("this Glow is unconditional (cond_dim=0): call it without y")
            return None
        if y is None:
            raise ValueError(f"this Glow is conditional (cond_dim={self.cond_dim}): pass y (B, {self.cond_dim})")
        if y.dim() == 1 and self.cond_dim == 1:
            y = y[:, None]
        if tuple(y.shape) != (batch, self.cond_dim):
            raise ValueError(f"y has shape {tuple(y.shape)}, expected ({batch}, {self.cond_dim})")
        return y

    def _top_prior(self, cond: Tensor | None, batch: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """Mean and log-std (B, *top_shape) of the top latent, at ``dtype`` with autocast off."""
        with no_autocast(self.top_mean):
            mean = self.top_mean.to(dtype).expand(batch, *self.top_shape)
            log_std = self.top_log_std.to(dtype).expand(batch, *self.top_shape)
            if self.cond_prior is not None:
                h = self.cond_prior(cond.to(self.cond_prior.weight.dtype)).to(dtype)
                h = h.view(batch, 2, *self.top_shape)
                mean, log_std = mean + h[:, 0], log_std + h[:, 1]
        return mean, log_std

    def _check_images(self, x: Tensor) -> None:
        expected = (self.channels, self.size, self.size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise FacegenError(f"Glow expects images (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}: "
                               f"resize the data to the model's size and channels")

    def flow(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x -> (eps (B, D), logdet (B,)), logdet = log|det d eps / dx| including every prior's -sum log sigma."""
        self._check_images(x)
        batch = x.shape[0]
        cond = self._cond(y, batch)
        step_cond = cond if self.cond_couplings else None
        h = x.to(flow_dtype(self.top_mean))
        logdet = h.new_zeros(batch)
        parts = []
        for i, steps in enumerate(self.levels):
            h = squeeze2d(h)
            for step in steps:
                h, ld = step(h, step_cond)
                logdet = logdet + ld
            if i < len(self.splits):
                h, eps, ld = self.splits[i](h)
                parts.append(eps.flatten(1))
                logdet = logdet + ld
        mean, log_std = self._top_prior(cond, batch, h.dtype)
        parts.append(((h - mean) * torch.exp(-log_std)).flatten(1))
        logdet = logdet - log_std.flatten(1).sum(dim=1)
        return torch.cat(parts, dim=1), logdet

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Images (B, C, S, S) -> standardised latents eps (B, C*S*S), the levels' eps concatenated (top last)."""
        return self.flow(x, y)[0]

    def decode(self, eps: Tensor, y: Tensor | None = None, temperature: float = 1.0) -> Tensor:
        """The exact inverse of ``encode`` applied to temperature * eps: (B, D) -> images (B, C, S, S)."""
        if eps.dim() != 2 or eps.shape[1] != self.dim:
            raise ValueError(f"eps has shape {tuple(eps.shape)}, expected (B, {self.dim})")
        batch = eps.shape[0]
        cond = self._cond(y, batch)
        step_cond = cond if self.cond_couplings else None
        eps = eps.to(flow_dtype(self.top_mean)) * temperature
        parts = torch.split(eps, [math.prod(shape) for shape in self.eps_shapes], dim=1)
        mean, log_std = self._top_prior(cond, batch, eps.dtype)
        h = mean + torch.exp(log_std) * parts[-1].view(batch, *self.top_shape)
        for i in reversed(range(len(self.levels))):
            if i < len(self.splits):
                h = self.splits[i].inverse(h, parts[i].view(batch, *self.eps_shapes[i]))
            for step in reversed(self.levels[i]):
                h = step.inverse(h, step_cond)
            h = unsqueeze2d(h)
        return h

    def log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """log p(x | y) in nats per image (B,) for continuous x: sum of log-dets + log N(eps; 0, I)."""
        eps, logdet = self.flow(x, y)
        return logdet + standard_normal_log_prob(eps)

    def sample(self, n: int, y: Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """n images decoded from eps ~ N(0, I) (drawn from ``generator`` on the model's device) at ``temperature``."""
        ref = self.top_mean
        eps = torch.randn(n, self.dim, generator=generator, device=ref.device, dtype=flow_dtype(ref))
        return self.decode(eps, y, temperature)
