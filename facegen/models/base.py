"""What every face model shares: configuration, encode / decode, the loss the trainer minimises."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from facegen.models.conv import Decoder, Encoder


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; stored in flags.json and every checkpoint."""

    size: int = 50
    channels: int = 3
    latent_size: int = 20
    cond_dim: int = 0
    base_channels: int = 32
    max_channels: int = 256
    beta: float = 1.0
    recon_loss: str = "mse"  # "mse" or "bce", summed over pixels
    alpha: float = 50.0  # weight of the supervised term -log q(y|x) (semi-supervised CVAE only)
    # DFC-VAE (recon_loss "perceptual"): the frozen feature net ("vgg19" or the path of an attribute net),
    # its layers, their weights and the weight of an extra pixel MSE term
    feature_net: str = ""
    loss_features: list[str] = field(default_factory=list)
    feature_weights: list[float] = field(default_factory=list)
    pixel_weight: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image reconstruction loss summed over pixels, shape (B,). ``x`` is in [0, 1]."""
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


class FaceModel(nn.Module):
    """Encoder + decoder built from one :class:`ModelConfig`.

    Subclasses set ``variational`` (posterior is Gaussian) and ``conditional`` (decoder and
    encoder see the condition vector y of length ``cond_dim``).
    """

    variational = False
    conditional = False

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        cond = cfg.cond_dim if self.conditional else 0
        self.encoder = Encoder(cfg.size, cfg.channels, cond, cfg.base_channels, cfg.max_channels)
        out = cfg.latent_size * (2 if self.variational else 1)
        self.head = nn.Linear(self.encoder.out_features, out)
        self.decoder = Decoder(cfg.size, cfg.channels, cfg.latent_size + cond, cfg.base_channels, cfg.max_channels)

    @property
    def cond_dim(self) -> int:
        return self.cfg.cond_dim if self.conditional else 0

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean and log-variance (log-variance is None for a plain autoencoder), in float32 even under
        --amp's autocast, so the sampling and the KL are computed at full precision."""
        h = self.head(self.encoder(x, y if self.conditional else None)).float()
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar
        return h, None

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional:
            z = torch.cat([z, y.to(z.dtype)], dim=1)
        return self.decoder(z).float()  # float32 logits: the losses are summed over pixels at full precision

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Image in [0, 1] for latent codes z (and conditions y for a conditional model)."""
        return torch.sigmoid(self.decode_logits(z, y))

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean: the deterministic reconstruction used in figures."""
        return self.decode(self.encode(x, y)[0], y)

    def reconstruction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-image reconstruction loss (B,) of decoder logits against x; models may override it."""
        return reconstruction_loss(logits, x, self.cfg.recon_loss)

    def loss(self, x: torch.Tensor, y: torch.Tensor, labelled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Batch-mean loss terms; ``loss`` is what the trainer minimises, ``mu`` the posterior means."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar) if self.variational else mu
        recon = self.reconstruction(self.decode_logits(z, y), x).mean()
        if not self.variational:
            return {"loss": recon, "recon": recon, "kl": torch.zeros_like(recon), "mu": mu.detach()}
        kl = kl_to_standard_normal(mu, logvar).mean()
        return {"loss": recon + self.cfg.beta * kl, "recon": recon, "kl": kl, "mu": mu.detach()}
