"""Invertible layers of a Glow flow (Kingma & Dhariwal 2018): ActNorm, LU 1x1 convolution, couplings, squeeze, split.

Every layer maps ``forward(x) -> (y, logdet)`` with ``logdet = log|det dy/dx|`` per sample, shape (B,), and has an
exact ``inverse(y) -> x``. The invertible path and every log-determinant are computed in float32 (float64 when the
layer is float64) even under autocast; only the coupling networks run at autocast precision.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

ACTNORM_EPS = 1e-6  # added to the per-channel std at data init, as in Glow, so a constant channel stays finite


def flow_dtype(t: Tensor) -> torch.dtype:
    """The precision of the invertible path for ``t``: float64 stays float64, everything else is float32."""
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def no_autocast(t: Tensor) -> contextlib.AbstractContextManager:
    """A context in which autocast is off on ``t``'s device, so matmuls and convs run at their inputs' precision."""
    return torch.autocast(device_type=t.device.type, enabled=False)


def _global_sum(t: Tensor) -> Tensor:
    """Sum ``t`` over all ranks in place when torch.distributed runs with more than one process."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def squeeze2d(x: Tensor) -> Tensor:
    """Space to depth: (B, C, H, W) -> (B, 4C, H/2, W/2); output channel 4c + 2i + j is input c at offset (i, j).

    A permutation of the entries, so log|det J| = 0.
    """
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze2d(x: Tensor) -> Tensor:
    """Depth to space, the exact inverse of :func:`squeeze2d`: (B, 4C, H, W) -> (B, C, 2H, 2W)."""
    b, c4, h, w = x.shape
    x = x.reshape(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c4 // 4, 2 * h, 2 * w)


class ActNorm(nn.Module):
    """Per-channel affine map y = (x + bias) * exp(log_scale); log|det J| = H * W * sum(log_scale).

    Data-dependent init: the first ``forward`` in training mode sets bias = -mean and
    log_scale = -log(std + 1e-6) per channel over that batch (population std), so the batch leaves with zero mean and
    unit variance per channel. Under torch.distributed with several processes the sums are all-reduced first, so every
    rank computes the same global statistics and the same init. The ``initialized`` flag is a buffer, so a loaded
    state_dict is never re-initialised. Before init (or in eval mode without one) the layer is the identity.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.tensor(False))
        self._checked = False  # the flag was read once since construction / the last load (one device sync)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Set bias and log_scale from the (global) per-channel mean and std of ``x`` (B, C, H, W)."""
        xf = x.detach().to(flow_dtype(self.bias))
        count = torch.tensor(float(xf.numel() // xf.shape[1]), dtype=xf.dtype, device=xf.device)
        sums = _global_sum(torch.cat([xf.sum(dim=(0, 2, 3)), count[None]]))
        mean = sums[:-1] / sums[-1]
        var = _global_sum(((xf - mean[None, :, None, None]) ** 2).sum(dim=(0, 2, 3))) / sums[-1]
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(var.sqrt() + ACTNORM_EPS))
        self.initialized.fill_(True)
        self._checked = True

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._checked = False
        super()._load_from_state_dict(*args, **kwargs)

    def _logdet(self, x: Tensor) -> Tensor:
        hw = x.shape[2] * x.shape[3]
        return (hw * self.log_scale.to(flow_dtype(self.log_scale)).sum()).expand(x.shape[0])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not self._checked:
            if not bool(self.initialized):
                self.initialize(x)
            self._checked = True
        y = (x + self.bias[None, :, None, None]) * torch.exp(self.log_scale)[None, :, None, None]
        return y, self._logdet(x)

    def inverse(self, y: Tensor) -> Tensor:
        return y * torch.exp(-self.log_scale)[None, :, None, None] - self.bias[None, :, None, None]


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution y = W x per pixel, with W = P L (U + diag(sign * exp(log_s))) (LU form).

    P is a fixed permutation, L unit lower triangular, U strictly upper; initialised from the LU decomposition of a
    random orthogonal matrix (QR of a Gaussian drawn from ``generator`` or the global RNG).
    log|det J| = H * W * sum(log_s). The inverse weight is U^-1 L^-1 P^T from two triangular solves in float64, then
    cast to the layer's dtype.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        dtype = torch.get_default_dtype()
        self.register_buffer("perm", p.to(dtype))
        self.register_buffer("sign_s", torch.sign(s).to(dtype))
        mask = torch.tril(torch.ones(channels, channels, dtype=dtype), -1)
        self.register_buffer("lower_mask", mask, persistent=False)
        self.lower = nn.Parameter(torch.tril(lower, -1).to(dtype))
        self.upper = nn.Parameter(torch.triu(upper, 1).to(dtype))
        self.log_s = nn.Parameter(torch.log(s.abs()).to(dtype))

    def _factors(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        eye = torch.eye(self.log_s.shape[0], dtype=dtype, device=self.log_s.device)
        mask = self.lower_mask.to(dtype)
        lower = self.lower.to(dtype) * mask + eye
        upper = self.upper.to(dtype) * mask.T + torch.diag(self.sign_s.to(dtype) * torch.exp(self.log_s.to(dtype)))
        return self.perm.to(dtype), lower, upper

    def weight(self) -> Tensor:
        """The composed (C, C) matrix W = P L U at the layer's precision (float32 at least)."""
        with no_autocast(self.log_s):
            p, lower, upper = self._factors(flow_dtype(self.log_s))
            return p @ lower @ upper

    def inverse_weight(self) -> Tensor:
        """W^-1 = U^-1 L^-1 P^T via triangular solves in float64, cast to the layer's precision."""
        with no_autocast(self.log_s):
            p, lower, upper = self._factors(torch.float64)
            eye = torch.eye(p.shape[0], dtype=torch.float64, device=p.device)
            lower_inv = torch.linalg.solve_triangular(lower, eye, upper=False, unitriangular=True)
            upper_inv = torch.linalg.solve_triangular(upper, eye, upper=True)
            return (upper_inv @ lower_inv @ p.T).to(flow_dtype(self.log_s))

    def _conv(self, x: Tensor, w: Tensor) -> Tensor:
        with no_autocast(x):
            return F.conv2d(x.to(w.dtype), w[:, :, None, None])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        hw = x.shape[2] * x.shape[3]
        logdet = (hw * self.log_s.to(flow_dtype(self.log_s)).sum()).expand(x.shape[0])
        return self._conv(x, self.weight()), logdet

    def inverse(self, y: Tensor) -> Tensor:
        return self._conv(y, self.inverse_weight())


class ZeroConv2d(nn.Conv2d):
    """A 3x3 convolution whose weight and bias start at zero, so it outputs zeros until trained."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class CouplingNet(nn.Module):
    """The coupling's network: conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv3x3."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False)
        self.norm1 = ActNorm(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.norm2 = ActNorm(hidden)
        self.out = ZeroConv2d(hidden, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.norm1(self.conv1(x))[0])
        h = F.relu(self.norm2(self.conv2(h))[0])
        return self.out(h)


class AffineCoupling(nn.Module):
    """Coupling layer: x = (x_a, x_b) split by channels (first C//2 | rest); x_a passes unchanged.

    Affine: (shift, raw) = NN(x_a [, condition planes]), scale = sigmoid(raw + 2) (OpenAI's Glow),
    y_b = (x_b + shift) * scale, log|det J| = sum log scale. Additive: y_b = x_b + NN(...), log|det J| = 0.
    The last conv is zero-initialised, so at init shift = 0 and scale = sigmoid(2) ~= 0.881 everywhere (the additive
    coupling is exactly the identity). A condition vector (B, K) enters the network as K constant planes.
    """

    def __init__(self, channels: int, hidden: int = 128, cond_dim: int = 0, additive: bool = False):
        super().__init__()
        self.n_a = channels // 2
        self.n_b = channels - self.n_a
        self.cond_dim = cond_dim
        self.additive = additive
        self.net = CouplingNet(self.n_a + cond_dim, self.n_b if additive else 2 * self.n_b, hidden)

    def _shift_log_scale(self, x_a: Tensor, cond: Tensor | None, dtype: torch.dtype) -> tuple[Tensor, Tensor | None]:
        if self.cond_dim:
            if cond is None:
                raise ValueError(f"this coupling was built with cond_dim={self.cond_dim}: pass a condition (B, K)")
            planes = cond.to(x_a.dtype)[:, :, None, None].expand(-1, -1, *x_a.shape[2:])
            x_a = torch.cat([x_a, planes], dim=1)
        h = self.net(x_a).to(dtype)
        if self.additive:
            return h, None
        return h[:, : self.n_b], F.logsigmoid(h[:, self.n_b :] + 2.0)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        dtype = flow_dtype(x)
        x_a, x_b = x[:, : self.n_a], x[:, self.n_a :].to(dtype)
        shift, log_scale = self._shift_log_scale(x_a, cond, dtype)
        if log_scale is None:
            return torch.cat([x_a.to(dtype), x_b + shift], dim=1), x.new_zeros(x.shape[0], dtype=dtype)
        y_b = (x_b + shift) * torch.exp(log_scale)
        return torch.cat([x_a.to(dtype), y_b], dim=1), log_scale.flatten(1).sum(dim=1)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        dtype = flow_dtype(y)
        y_a, y_b = y[:, : self.n_a], y[:, self.n_a :].to(dtype)
        shift, log_scale = self._shift_log_scale(y_a, cond, dtype)
        x_b = y_b - shift if log_scale is None else y_b * torch.exp(-log_scale) - shift
        return torch.cat([y_a.to(dtype), x_b], dim=1)


class FlowStep(nn.Module):
    """One step of flow: ActNorm -> InvConv1x1 -> coupling; log-dets add."""

    def __init__(self, channels: int, hidden: int, cond_dim: int = 0, additive: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.norm = ActNorm(channels)
        self.conv = InvConv1x1(channels, generator)
        self.coupling = AffineCoupling(channels, hidden, cond_dim, additive)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, ld_norm = self.norm(x)
        x, ld_conv = self.conv(x)
        x, ld_coupling = self.coupling(x, cond)
        return x, ld_norm + ld_conv + ld_coupling

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.norm.inverse(self.conv.inverse(self.coupling.inverse(y, cond)))


class Split(nn.Module):
    """Factor out half the channels under a learned conditional prior, returning them standardised.

    z = (z_kept, z_out) with z_kept the first C//2 channels; a zero-initialised conv on z_kept gives (mu, log sigma)
    of z_out, and eps = (z_out - mu) / sigma. As a map z_out -> eps this has log|det J| = -sum log sigma, which
    ``forward`` returns, so log p(z_out | z_kept) = log N(eps; 0, I) + logdet.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.n_kept = channels // 2
        self.n_out = channels - self.n_kept
        self.prior = ZeroConv2d(self.n_kept, 2 * self.n_out)

    def _prior(self, z_kept: Tensor) -> tuple[Tensor, Tensor]:
        h = self.prior(z_kept).to(flow_dtype(z_kept))
        return h[:, : self.n_out], h[:, self.n_out :]

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """z (B, C, H, W) -> (z_kept, eps, logdet)."""
        z_kept, z_out = z[:, : self.n_kept], z[:, self.n_kept :]
        mean, log_std = self._prior(z_kept)
        eps = (z_out.to(mean.dtype) - mean) * torch.exp(-log_std)
        return z_kept, eps, -log_std.flatten(1).sum(dim=1)

    def inverse(self, z_kept: Tensor, eps: Tensor) -> Tensor:
        mean, log_std = self._prior(z_kept)
        z_out = mean + torch.exp(log_std) * eps.to(mean.dtype)
        return torch.cat([z_kept.to(mean.dtype), z_out], dim=1)


def standard_normal_log_prob(eps: Tensor) -> Tensor:
    """log N(eps; 0, I) summed over all but the batch dimension, in float32 at least: -(|eps|^2 + D log 2 pi) / 2."""
    e = eps.flatten(1).to(flow_dtype(eps))
    return -0.5 * (e.pow(2).sum(dim=1) + e.shape[1] * math.log(2 * math.pi))
