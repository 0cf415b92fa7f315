"""The terms of the evidence lower bound of a Gaussian VAE."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image reconstruction loss summed over pixels, shape (B,). ``x`` is in [0, 1]; ``kind`` is "mse"
    (squared error of sigmoid(logits)) or "bce" (binary cross-entropy computed from the logits)."""
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x).square()
    return per_pixel.flatten(1).sum(1)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, exp(logvar)) || N(0, I) ) in closed form, summed over latent dims, shape (B,).

    KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)
    """
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of the posterior that gradients flow through."""
    return mu + (0.5 * logvar).exp() * torch.randn_like(mu)
