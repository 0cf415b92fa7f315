"""The VAE-GAN (Larsen et al. 2016): a VAE whose decoder is a GAN generator and whose reconstruction error is
measured in the discriminator's features; conditional as cvaegan.

With x the real batch (in [-1, 1]), (mu, log sigma^2) = Enc(x), z = mu + sigma eps, x~ = Dec(z) the
reconstruction, x_p = Dec(z_p), z_p ~ N(0, I) a prior sample, D_l the activations after the discriminator's
conv level l (``--disc_layer``, F features) and s the sigmoid of D's logit:

    recon  = 1/2 mean_j (D_l(x~)_j - D_l(x)_j)^2          (a Gaussian likelihood on D_l, per feature)
           + w 1/2 mean_i (x~_i - x_i)^2                 (--pixel_weight w, 0 by default: Larsen's pure form)
    KL     = KL(q(z|x) || N(0, I))
    L_D    = -log s(D(x)) - 1/2 [log(1 - s(D(x~))) + log(1 - s(D(x_p)))]
    L_Enc  = F recon + beta KL                            (the negative ELBO with that likelihood at beta = 1)
    L_Dec  = gamma recon + 1/2 [-log s(D(x~)) - log s(D(x_p))]   (the non-saturating GAN loss)

One step: (1) D over [x, x~, x_p] in one pass (BatchNorm sees one batch), the gate of
``facegen.losses.balance`` reads the BCE on real and on fake (x~ and x_p together) and D takes its update
unless it is winning by the margin; (2) the updated D, frozen, over [x, x~, x_p] again gives D_l and the
logits; the encoder steps on L_Enc and the decoder on L_Dec, without its GAN term when D is losing by the
margin. The encoder gets no adversarial gradient: the decoder's graph starts from z detached, and the
encoder's share of d recon / d z is carried over by hand (L_Enc's backward sees only the encoder).
Terms: recon, kl, d_loss, g_loss, d_real, d_fake (D's mean probabilities), skip_disc and skip_dec (1 when
that update was skipped, so their epoch means are the shares of skipped updates), diversity (prior samples
against the real batch, the collapse alarm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from facegen.core.argtypes import nonnegative_float
from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.losses.adversarial import discriminator_terms, generator_loss
from facegen.losses.balance import EQUILIBRIUM, MARGIN, balance_gate
from facegen.losses.elbo import kl_to_standard_normal, reparameterize
from facegen.models.base import ModelConfig, OptimSettings, Step, option
from facegen.models.gan.common import (
    CollapseAlarm,
    GeneratorModel,
    diversity_ratio,
    frozen,
    player_optimizers,
    repeat_condition,
    to_signed,
    to_unit,
)
from facegen.models.registry import register
from facegen.nn.conv import Encoder, level_sizes
from facegen.nn.dcgan import Discriminator, Generator, dcgan_init


def disc_levels(size: int) -> int:
    """Conv levels of the discriminator at ``size`` px (4 at 64 px, 3 at 32 px)."""
    return len(level_sizes(size)) - 1


@dataclass
class VAEGANConfig(ModelConfig):
    latent_size: int = option(128, "dimensions of the latent code z (Larsen et al. used 128)")
    e_channels: int = option(64, "encoder channels at its first level (doubling per level)")
    g_channels: int = option(64, "decoder (generator) channels at its largest level")
    d_channels: int = option(64, "discriminator channels at its first level")
    max_channels: int = option(512, "cap on channels per level")
    beta: float = option(1.0, "weight of the KL term in the encoder's loss")
    gamma: float = option(1.0, "weight of the feature reconstruction (per feature) against the GAN loss in the "
                               "decoder's loss")
    pixel_weight: float = option(0.0, "weight of 1/2 the mean squared pixel error (images in [-1, 1]) added to the "
                                      "feature reconstruction: 0 is Larsen et al.'s form; > 0 anchors the "
                                      "reconstructions to the photo while the discriminator's features are young",
                                 parse=nonnegative_float)
    disc_layer: int = option(3, "discriminator conv level (1 = first, at half size) whose activations the "
                                "reconstruction is measured on; 1 to 4 at 64 px, 1 to 3 at 32 px")
    equilibrium: float = option(EQUILIBRIUM, "balance gate: the BCE the discriminator is kept near")
    margin: float = option(MARGIN, "balance gate: skip D's update when a BCE is below equilibrium - margin, the "
                                   "decoder's GAN term when one is above equilibrium + margin; a finite number >= 0 "
                                   "(one above any BCE, e.g. 1000, never skips)", parse=nonnegative_float)
    beta1: float = option(0.5, "Adam beta1 of the three optimizers")
    beta2: float = option(0.999, "Adam beta2 of the three optimizers")
    collapse_alarm: float = option(0.3, "warn when an epoch's prior samples, once more varied, fall below this share "
                                        "of the real faces' mean pairwise distance (0: never)")

    def check(self) -> None:
        levels = disc_levels(self.size)
        if not 1 <= self.disc_layer <= levels:
            raise FacegenError(f"--disc_layer {self.disc_layer}: the discriminator at {self.size} px has conv levels "
                               f"1-{levels}; pick one of them (3 is Larsen et al.'s choice)")
        if self.latent_size < 1 or min(self.beta, self.gamma, self.pixel_weight) < 0:
            raise FacegenError(f"--latent_size {self.latent_size}, --beta {self.beta}, --gamma {self.gamma}, "
                               f"--pixel_weight {self.pixel_weight}: need a latent size >= 1 and weights >= 0")
        if not (0 <= self.margin < math.inf and math.isfinite(self.equilibrium)):
            raise FacegenError(f"--margin {self.margin}, --equilibrium {self.equilibrium}: need a finite margin >= 0 "
                               "(e.g. 1000 never skips an update) and a finite equilibrium")
        if min(self.e_channels, self.g_channels, self.d_channels, self.max_channels) < 1:
            raise FacegenError("--e_channels, --g_channels, --d_channels and --max_channels must be at least 1")


class VAEGANBase(GeneratorModel):
    """Encoder, decoder (= DC-GAN generator), discriminator; three optimizers."""

    Config = VAEGANConfig

    def __init__(self, cfg: VAEGANConfig):
        super().__init__(cfg)
        cond = self.cond_dim
        self.encoder = Encoder(cfg.size, cfg.channels, cond, cfg.e_channels, cfg.max_channels)
        self.head = nn.Linear(self.encoder.out_features, 2 * cfg.latent_size)
        dcgan_init(self.encoder)
        dcgan_init(self.head)
        self.decoder = Generator(cfg.size, cfg.channels, cfg.latent_size, cond, cfg.g_channels, cfg.max_channels)
        self.discriminator = Discriminator(cfg.size, cfg.channels, cond, cfg.d_channels, cfg.max_channels)
        if not 1 <= cfg.disc_layer <= self.discriminator.n_levels:
            raise FacegenError(f"--disc_layer {cfg.disc_layer}: the discriminator has conv levels "
                               f"1-{self.discriminator.n_levels}")
        c, h, w = self.discriminator.level_shapes[cfg.disc_layer - 1]
        self.n_features = c * h * w
        self._epoch_mu: list[torch.Tensor] = []
        self.alarm = CollapseAlarm(self.name, cfg.collapse_alarm)

    @property
    def latent_size(self) -> int:
        return self.cfg.latent_size

    # ---- what the scripts use --------------------------------------------------------------------------------
    def _y(self, y: torch.Tensor | None) -> torch.Tensor | None:
        return y if self.conditional else None

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance (float32) of images x in [0, 1]."""
        return self._encode(to_signed(x), self._y(y))

    def _encode(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.encoder(x, y)).float().chunk(2, dim=1)
        return mu, logvar

    def sampler(self) -> Generator:
        """The decoder: it draws the samples and decodes the codes."""
        return self.decoder

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] for codes z (and conditions y)."""
        return to_unit(self.decoder(z, self._y(y)).float())

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The posterior mean decoded: the deterministic reconstruction of the figures."""
        return self.decode(self.encode(x, y)[0], y)

    # ---- training --------------------------------------------------------------------------------------------
    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return player_optimizers({"enc": nn.ModuleList([self.encoder, self.head]), "dec": self.decoder,
                                  "disc": self.discriminator}, settings.lr, (self.cfg.beta1, self.cfg.beta2), device)

    def feature_recon(self, fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
        """1/2 mean over the layer's features of the squared difference, per image (B,)."""
        return 0.5 * (fake_features.float() - real_features.float()).square().flatten(1).mean(1)

    def recon_term(self, fake_features: torch.Tensor, real_features: torch.Tensor, fake: torch.Tensor,
                   real: torch.Tensor) -> torch.Tensor:
        """The reconstruction term per image (B,): the feature term plus ``pixel_weight`` times 1/2 the mean
        squared pixel error (images in [-1, 1])."""
        recon = self.feature_recon(fake_features, real_features)
        if self.cfg.pixel_weight:
            recon = recon + self.cfg.pixel_weight * self.feature_recon(fake, real)
        return recon

    def gate_inputs(self, real_bce: torch.Tensor, fake_bce: torch.Tensor, step: Step) -> tuple[float, float]:
        """The BCEs the gate reads: averaged over the processes under torchrun, so every rank takes the same
        decision (and joins the same gradient all-reduces)."""
        real, fake = step.all_reduce_mean(torch.stack([real_bce, fake_bce]).float()).tolist()
        return real, fake

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        x = to_signed(batch.x)
        y = self._y(batch.y)
        b = x.shape[0]
        y3 = repeat_condition(y, 3)
        with step.autocast():
            mu, logvar = self._encode(x, y)
            z = reparameterize(mu, logvar)
            z_dec = z.detach().requires_grad_(True)  # the decoder's graph starts here: no GAN gradient to Enc
            recon, prior = self.decoder(torch.cat([z_dec, torch.randn_like(z)]), repeat_condition(y, 2)).chunk(2)
            logits = self.discriminator(torch.cat([x, recon.detach(), prior.detach()]), y3).float()
            real_bce, fake_bce = discriminator_terms("bce", logits[:b], logits[b:])
        gate = balance_gate(*self.gate_inputs(real_bce, fake_bce, step), equilibrium=cfg.equilibrium, margin=cfg.margin)
        if gate.train_disc:
            step.update(real_bce + fake_bce, "disc")
        with frozen(self.discriminator), step.autocast():
            logits, features = self.discriminator.logits_and_features(torch.cat([x, recon, prior]), y3,
                                                                      cfg.disc_layer)
            recon_loss = self.recon_term(features[b:2 * b], features[:b].detach(), recon, x).mean()
            g_adv = generator_loss("bce", logits[b:].float())
        (grad_z,) = torch.autograd.grad(recon_loss, z_dec, retain_graph=True)
        kl = kl_to_standard_normal(mu, logvar).mean()
        # d/d(encoder) of (F recon + beta KL): F recon reaches the encoder only through z, whose gradient is grad_z
        step.update((z * (self.n_features * grad_z)).sum() + cfg.beta * kl, "enc")
        dec_loss = cfg.gamma * recon_loss + (g_adv if gate.train_dec else 0.0)
        step.update(dec_loss, "dec")
        self._epoch_mu.append(mu.detach())
        diversity = diversity_ratio(prior, x)
        self.alarm.add(step.all_reduce_mean(diversity))
        ones = torch.ones((), device=x.device)
        return {"recon": recon_loss.detach(), "kl": kl.detach(), "d_loss": (real_bce + fake_bce).detach(),
                "g_loss": g_adv.detach(), "d_real": torch.sigmoid(logits[:b].float()).mean().detach(),
                "d_fake": torch.sigmoid(logits[b:].float()).mean().detach(),
                "skip_disc": ones * (not gate.train_disc), "skip_dec": ones * (not gate.train_dec),
                "diversity": diversity}

    @torch.no_grad()
    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Feature reconstruction and KL of the posterior mean's reconstruction, its pixel MSE (per pixel, images
        in [0, 1]), and D's view of real faces, reconstructions and prior samples."""
        x = to_signed(batch.x)
        y = self._y(batch.y)
        b = x.shape[0]
        mu, logvar = self._encode(x, y)
        recon, prior = self.decoder(torch.cat([mu, torch.randn_like(mu)]), repeat_condition(y, 2)).chunk(2)
        logits, features = self.discriminator.logits_and_features(torch.cat([x, recon, prior]),
                                                                  repeat_condition(y, 3), self.cfg.disc_layer)
        real_bce, fake_bce = discriminator_terms("bce", logits[:b], logits[b:])
        return {"recon": self.recon_term(features[b:2 * b], features[:b], recon, x).mean(),
                "kl": kl_to_standard_normal(mu, logvar).mean(), "mse": (to_unit(recon) - batch.x).square().mean(),
                "d_loss": real_bce + fake_bce, "g_loss": generator_loss("bce", logits[b:]),
                "d_real": torch.sigmoid(logits[:b]).mean(), "d_fake": torch.sigmoid(logits[b:]).mean(),
                "diversity": diversity_ratio(prior, x)}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """Reconstructions of the shown validation faces."""
        return self.reconstruct(batch.x, batch.y)

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """The variance over the epoch's faces of each latent dimension's posterior mean (as the VAEs report it),
        and the collapse alarm."""
        self.alarm.epoch_end()
        if not self._epoch_mu:
            return {}
        mu = torch.cat(self._epoch_mu).double()
        self._epoch_mu.clear()
        return {"latent_var": mu.var(0, correction=0).float().cpu()}


@register("vaegan")
class VAEGAN(VAEGANBase):
    """VAE-GAN: feature-space reconstruction, KL, and a GAN on real, reconstructed and prior-sampled faces."""

    variants = {"--conditions": "cvaegan"}
    summary = "VAE-GAN (Larsen et al. 2016) with the balance gate"


@register("cvaegan")
class ConditionalVAEGAN(VAEGANBase):
    """Conditional VAE-GAN: the encoder sees (x, y), the decoder [z, y], a projection discriminator D(x, y)."""

    conditional = True
    summary = "conditional VAE-GAN on the smile degree (vaegan.py --conditions smile)"
