"""The three models of the Conditional Smiles study, one conv encoder / decoder differing in two switches.

| model | encoder sees | decoder sees | loss per image (batch mean) |
| ae    | x            | z            | recon(x, dec(z)),  z = enc(x)                         |
| vae   | x            | z            | recon + beta KL(q(z|x) || N(0, I)), z ~ q reparameterised |
| cvae  | x and y      | [z, y]       | recon + beta KL(q(z|x, y) || N(0, I))                 |
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from facegen.core.argtypes import nonnegative_float, positive_int
from facegen.data.batches import Batch
from facegen.losses.elbo import kl_to_standard_normal, reconstruction_loss, reparameterize
from facegen.models.base import Model, ModelConfig, Step, option
from facegen.models.capabilities import GaussianPrior
from facegen.models.registry import register
from facegen.nn.conv import Decoder, Encoder


@dataclass
class AEConfig(ModelConfig):
    latent_size: int = option(20, "dimensions of the latent code z (>= 1)", parse=positive_int)
    base_channels: int = option(32, "channels of the first conv level (doubling per level, >= 1)", parse=positive_int)
    max_channels: int = option(256, "cap on channels per conv level (>= 1)", parse=positive_int)
    recon_loss: str = option("mse", "reconstruction loss, summed over pixels", choices=("mse", "bce"),
                             flag="--loss")


@dataclass
class VAEConfig(AEConfig):
    beta: float = option(1.0, "weight of the KL term, >= 0 (a beta-VAE when not 1)", parse=nonnegative_float)


class Autoencoder(Model):
    """Encoder + linear head + decoder; ``variational`` makes the posterior Gaussian, ``conditional`` feeds the
    condition vector y to the encoder (as constant planes) and to the decoder (concatenated to z)."""

    Config = AEConfig
    variational = False  # the code is a Gaussian posterior's mean (encode also gives its log-variance)

    def __init__(self, cfg: AEConfig):
        super().__init__(cfg)
        cond = self.cond_dim
        self.encoder = Encoder(cfg.size, cfg.channels, cond, cfg.base_channels, cfg.max_channels)
        self.head = nn.Linear(self.encoder.out_features, cfg.latent_size * (2 if self.variational else 1))
        self.decoder = Decoder(cfg.size, cfg.channels, cfg.latent_size + cond, cfg.base_channels, cfg.max_channels)
        self._epoch_mu: list[torch.Tensor] = []

    @property
    def latent_size(self) -> int:
        return self.cfg.latent_size

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean and log-variance (None for a plain autoencoder), in float32 even under --amp's
        autocast, so the sampling and the KL are computed at full precision."""
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

    def first_layer_weight(self) -> torch.Tensor:
        """The z columns of the decoder's first (fully connected) layer's weight: (out_features, latent_size)."""
        return self.decoder.fc[0].weight[:, :self.latent_size].detach()

    def generator_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's activation after its fully connected layer and first transposed-conv block, (N, D)."""
        if self.conditional:
            z = torch.cat([z, y.to(z.dtype)], dim=1)
        h = self.decoder.fc(z).view(-1, *self.decoder.start)
        return self.decoder.net[0](h).flatten(1).float()

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean: the deterministic reconstruction used in figures."""
        return self.decode(self.encode(x, y)[0], y)

    def reconstruction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-image reconstruction loss (B,) of decoder logits against x; models may override it."""
        return reconstruction_loss(logits, x, self.cfg.recon_loss)

    def loss(self, x: torch.Tensor, y: torch.Tensor, labelled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Batch-mean loss terms; ``loss`` is what training minimises, ``mu`` the posterior means."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar) if self.variational else mu
        recon = self.reconstruction(self.decode_logits(z, y), x).mean()
        if not self.variational:
            return {"loss": recon, "recon": recon, "kl": torch.zeros_like(recon), "mu": mu.detach()}
        kl = kl_to_standard_normal(mu, logvar).mean()
        return {"loss": recon + self.cfg.beta * kl, "recon": recon, "kl": kl, "mu": mu.detach()}

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        with step.autocast():
            out = self.loss(batch.x, batch.y, batch.labelled)
        step.update(out["loss"], "model")
        self._epoch_mu.append(out.pop("mu"))
        return out

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        out = self.loss(batch.x, batch.y, batch.labelled)
        out.pop("mu")
        return out

    def snapshot(self, batch: Batch) -> torch.Tensor:
        return self.reconstruct(batch.x, batch.y)

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """The variance over the epoch's training faces of each latent dimension's posterior mean: how much
        the model uses each dimension."""
        if not self._epoch_mu:
            return {}
        mu = torch.cat(self._epoch_mu).double()
        self._epoch_mu.clear()
        return {"latent_var": mu.var(0, correction=0).float().cpu()}


@register("ae")
class AE(Autoencoder):
    """Deterministic autoencoder: reconstruction loss only."""

    summary = "autoencoder: reconstruction only"


@register("vae")
class VAE(GaussianPrior, Autoencoder):
    """Gaussian VAE: reconstruction + beta * KL(q(z|x) || N(0, I))."""

    Config = VAEConfig
    variational = True
    variants = {"--loss=perceptual": "dfcvae"}
    summary = "VAE: reconstruction + beta KL"

    def elbo(self, x: torch.Tensor, y: torch.Tensor, labelled: torch.Tensor | None = None) -> torch.Tensor:
        """The batch-mean ELBO -(reconstruction loss + KL) per face, one posterior sample (global RNG)."""
        out = self.loss(x, y, labelled)
        return -(out["recon"] + out["kl"])


@register("cvae")
class CVAE(VAE):
    """Conditional VAE: encoder sees (x, y), decoder sees [z, y]; y is the smile degree (and more)."""

    conditional = True
    variants = {"--unlabeled": "sscvae"}
    summary = "conditional VAE on the smile degree (and gender, age)"
