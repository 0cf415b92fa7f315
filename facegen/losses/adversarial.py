"""Adversarial losses chosen by name: the non-saturating GAN (bce), least squares (lsgan), Wasserstein (wgan-gp).

Every loss takes the discriminator's raw outputs ("logits", any shape: (B,), (B, 1) or a PatchGAN's (B, 1, h, w))
and returns the mean over all of them. With p the data and q the generator's distribution:

- bce:     D loss  E_p[-log s(D)] + E_q[-log(1 - s(D))]  (s the sigmoid; optimum s(D*) = p / (p + q));
           G loss  E_q[-log s(D)]  (the non-saturating generator loss of Goodfellow et al. 2014).
- lsgan:   D loss  1/2 E_p[(D - b)^2] + 1/2 E_q[(D - a)^2];  G loss  1/2 E_q[(D - c)^2],  with a = 0, b = c = 1
           (Mao et al. 2017; optimum D* = (b p + a q) / (p + q)).
- wgan-gp: critic loss  E_q[D] - E_p[D];  G loss  -E_q[D]  (Arjovsky et al. 2017), plus :func:`gradient_penalty`
           on the critic (Gulrajani et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from facegen.core.errors import FacegenError

LOSSES = ("bce", "lsgan", "wgan-gp")
LSGAN_FAKE, LSGAN_REAL, LSGAN_GEN = 0.0, 1.0, 1.0  # the targets a, b, c


def check_loss(kind: str) -> str:
    """``kind`` itself when it names one of :data:`LOSSES`; a one-line FacegenError otherwise."""
    if kind not in LOSSES:
        raise FacegenError(f"unknown adversarial loss {kind!r}: choose one of {', '.join(LOSSES)}")
    return kind


def discriminator_terms(kind: str, real_logits: torch.Tensor,
                        fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(real term, fake term) of the discriminator loss; their sum is :func:`discriminator_loss`.

    For bce these are the discriminator's binary cross-entropies on real (target 1) and on fake (target 0),
    the two numbers the VAE-GAN balance gate (``facegen.losses.balance``) reads.
    """
    check_loss(kind)
    if kind == "bce":  # -log s(x) = softplus(-x), -log(1 - s(x)) = softplus(x): stable for any logit
        return F.softplus(-real_logits).mean(), F.softplus(fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (real_logits - LSGAN_REAL).square().mean(), 0.5 * (fake_logits - LSGAN_FAKE).square().mean()
    return -real_logits.mean(), fake_logits.mean()


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) scalar loss for a batch of real and a batch of fake outputs."""
    real, fake = discriminator_terms(kind, real_logits, fake_logits)
    return real + fake


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's scalar loss: it falls as the discriminator's outputs on fakes move towards "real"."""
    check_loss(kind)
    if kind == "bce":
        return F.softplus(-fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (fake_logits - LSGAN_GEN).square().mean()
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
    cond: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP's penalty  weight * E[(||grad_x D(x_hat)||_2 - 1)^2]  at  x_hat = a real + (1 - a) fake.

    ``a = torch.rand(B, generator=generator)`` (one U[0, 1) draw per sample, on the generator's device, or on
    ``real``'s with the global RNG). ``critic`` is called as ``critic(x_hat)``, or as ``critic(x_hat, cond)`` when
    ``cond`` is given (a conditional critic: real and fake row i must share condition ``cond[i]``, which is not
    interpolated). A critic output with several values per sample (a PatchGAN map) is averaged per sample, as the
    losses above average it. ``real`` and ``fake`` are detached; the gradient is taken with ``create_graph=True``,
    so backpropagating the penalty trains the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} batches differ in shape")
    b = real.shape[0]
    device = generator.device if generator is not None else real.device
    a = torch.rand(b, generator=generator, device=device).to(real.device, real.dtype)
    a = a.view(b, *([1] * (real.dim() - 1)))
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    out = critic(x_hat) if cond is None else critic(x_hat, cond)
    score = out.reshape(b, -1).mean(1)
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return weight * (grad.reshape(b, -1).norm(2, dim=1) - 1).square().mean()


def check_critic(module: nn.Module, kind: str) -> None:
    """A one-line FacegenError when a WGAN-GP critic holds BatchNorm: the gradient penalty is defined per sample,
    and BatchNorm makes each output depend on the whole batch (Gulrajani et al. 2017, section 4)."""
    check_loss(kind)
    if kind != "wgan-gp":
        return
    found = [name or type(module).__name__ for name, m in module.named_modules() if isinstance(m, _BatchNorm)]
    if found:
        raise FacegenError(f"the wgan-gp critic has BatchNorm ({', '.join(found[:3])}): build it with layer / "
                           "instance norm or none, or choose the bce or lsgan loss")
