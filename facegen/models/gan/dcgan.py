"""The DC-GAN (Radford et al. 2016) with a choice of adversarial loss, and its conditional form.

Per training step, with x the real batch and x~ = G(z), z ~ N(0, I) (in [-1, 1]), T the DiffAugment
transform (identity by default) and D the discriminator:

1. discriminator: one pass of D over the concatenation [T(x), T(x~)] (so BatchNorm normalises real and fake
   as one batch), loss L_D = real term + fake term of ``--loss`` (``facegen.losses.adversarial``), plus for
   wgan-gp lambda E[(||grad D(x^)|| - 1)^2] at x^ = a x + (1 - a) x~;
2. generator, every ``n_critic``-th step: the same fakes (their graph kept) through the updated D, frozen,
   loss L_G of ``--loss``; with BatchNorm in D the real batch goes through D again beside them, so D sees
   the same mixed batch in both updates; then the EMA generator (``--ema``) takes a step towards G.

Terms per step: d_loss (L_D without the penalty), g_loss (L_G on this step's fakes as D judged them in
step 1, the same number with any ``n_critic``), d_real and d_fake (mean D(x) and D(x~): probabilities for
bce, raw outputs for lsgan and wgan-gp), gp (wgan-gp), and diversity: the mean pairwise distance of the
fakes over that of the real faces of the batch (the mode-collapse alarm, warned about per epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.argtypes import nonnegative_float
from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.losses.adversarial import (
    LOSSES,
    check_critic,
    check_loss,
    discriminator_terms,
    generator_loss,
    gradient_penalty,
)
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
from facegen.nn.dcgan import Discriminator, Generator
from facegen.nn.diffaugment import diff_augment, parse_policy
from facegen.nn.ema import EMA
from facegen.nn.norm import NORMS

WGAN_CRITIC_STEPS = 5  # Gulrajani et al.'s n_critic


@dataclass
class DCGANConfig(ModelConfig):
    latent_size: int = option(100, "dimensions of the noise z ~ N(0, I) (the DC-GAN's 100)")
    g_channels: int = option(64, "generator channels at its largest level (doubling towards its 4 px start)")
    d_channels: int = option(64, "discriminator channels at its first level (doubling per level)")
    max_channels: int = option(512, "cap on channels per level of both networks")
    loss: str = option("bce", "adversarial loss: non-saturating bce, least squares (lsgan) or wgan-gp",
                       choices=LOSSES)
    n_critic: int = option(0, f"discriminator updates per generator update (0: {WGAN_CRITIC_STEPS} for wgan-gp, "
                              "else 1)")
    gp_weight: float = option(10.0, "WGAN-GP gradient-penalty weight lambda (>= 0: a negative one rewards steep "
                                    "critics)", parse=nonnegative_float)
    d_norm: str = option("auto", "discriminator normalisation (auto: batch, none for wgan-gp, whose per-sample "
                                 "penalty BatchNorm breaks)", choices=("auto", *NORMS))
    ema: float = option(0.0, "decay of the moving average of the generator's weights that samples and snapshots "
                             "use (0: off; e.g. 0.999)")
    diffaugment: str = option("", "DiffAugment policy for everything the discriminator sees, real and fake, e.g. "
                                  "color,translation,cutout ('': off); for small sets such as LFW")
    beta1: float = option(0.5, "Adam beta1 of both players (the DC-GAN's 0.5; WGAN-GP used 0)")
    beta2: float = option(0.999, "Adam beta2 of both players (WGAN-GP used 0.9)")
    collapse_alarm: float = option(0.3, "warn when an epoch's samples, once more varied, fall below this share of the "
                                        "real faces' mean pairwise distance (0: never)")

    @property
    def disc_norm(self) -> str:
        if self.d_norm != "auto":
            return self.d_norm
        return "none" if self.loss == "wgan-gp" else "batch"

    @property
    def critic_steps(self) -> int:
        if self.n_critic:
            return self.n_critic
        return WGAN_CRITIC_STEPS if self.loss == "wgan-gp" else 1

    def check(self) -> None:
        """Known loss and DiffAugment ops, sane numbers, and no BatchNorm in a WGAN-GP critic."""
        check_loss(self.loss)
        parse_policy(self.diffaugment)
        if self.latent_size < 1 or self.n_critic < 0:
            raise FacegenError(f"--latent_size {self.latent_size} / --n_critic {self.n_critic}: need latent_size >= 1 "
                               "and n_critic >= 0")
        if not 0 <= self.ema < 1:
            raise FacegenError(f"--ema {self.ema}: the decay must lie in [0, 1) (0 turns the average off; e.g. 0.999)")
        if min(self.g_channels, self.d_channels, self.max_channels) < 1:
            raise FacegenError("--g_channels, --d_channels and --max_channels must be at least 1")
        check_critic(Discriminator(self.size, self.channels, norm=self.disc_norm, base=1, max_channels=1), self.loss)


class GAN(GeneratorModel):
    """Generator + discriminator with the chosen adversarial loss, an optional EMA generator and DiffAugment."""

    Config = DCGANConfig

    def __init__(self, cfg: DCGANConfig):
        super().__init__(cfg)
        self.generator = Generator(cfg.size, cfg.channels, cfg.latent_size, self.cond_dim, cfg.g_channels,
                                   cfg.max_channels)
        self.discriminator = Discriminator(cfg.size, cfg.channels, self.cond_dim, cfg.d_channels, cfg.max_channels,
                                           norm=cfg.disc_norm)
        self.ema = EMA(self.generator, cfg.ema) if cfg.ema else None
        if self.ema is not None:
            self.generator_ema = self.ema.module  # a submodule, so checkpoints and .to(device) carry it
        self.mixed_batches = cfg.disc_norm == "batch"  # D's batch statistics then depend on the whole batch
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.alarm = CollapseAlarm(self.name, cfg.collapse_alarm)

    @property
    def latent_size(self) -> int:
        return self.cfg.latent_size

    # ---- what the scripts use --------------------------------------------------------------------------------
    def sampler(self) -> Generator:
        """The generator that draws samples: the moving average when --ema is on."""
        return self.generator_ema if self.ema is not None else self.generator

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] for noise z (and conditions y for a conditional GAN)."""
        return to_unit(self.sampler()(z, y if self.conditional else None).float())

    # ---- training --------------------------------------------------------------------------------------------
    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return player_optimizers({"gen": self.generator, "disc": self.discriminator}, settings.lr,
                                 (self.cfg.beta1, self.cfg.beta2), device)

    def judge(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's logits of images in [-1, 1], through DiffAugment when a policy is set (float32)."""
        if self.cfg.diffaugment and self.training:
            x = diff_augment(x, self.cfg.diffaugment)
        return self.discriminator(x, y).float()

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """What d_real / d_fake report: D's probability of "real" for bce, its raw output otherwise."""
        return torch.sigmoid(logits).mean() if self.cfg.loss == "bce" else logits.mean()

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.cfg.latent_size, device=device)

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        real = to_signed(batch.x)
        y = batch.y if self.conditional else None
        b = real.shape[0]
        with step.autocast():
            fake = self.generator(self.noise(b, real.device), y)
            logits = self.judge(torch.cat([real, fake.detach()]), repeat_condition(y, 2))
            real_term, fake_term = discriminator_terms(cfg.loss, logits[:b], logits[b:])
            d_loss = real_term + fake_term
            terms = {"d_loss": d_loss.detach(), "g_loss": generator_loss(cfg.loss, logits[b:]).detach(),
                     "d_real": self.score(logits[:b]).detach(), "d_fake": self.score(logits[b:]).detach()}
            if cfg.loss == "wgan-gp":
                gp = gradient_penalty(self.judge, real, fake.detach(), weight=cfg.gp_weight, cond=y)
                terms["gp"] = gp.detach()
                d_loss = d_loss + gp
        step.update(d_loss, "disc")
        if cfg.critic_steps == 1 or int(self.steps) % cfg.critic_steps == 0:  # no device sync when every step
            with frozen(self.discriminator), step.autocast():
                if self.mixed_batches:  # D sees the same mixed batch as in its own update
                    fake_logits = self.judge(torch.cat([real, fake]), repeat_condition(y, 2))[b:]
                else:
                    fake_logits = self.judge(fake, y)
                g_loss = generator_loss(cfg.loss, fake_logits)
            step.update(g_loss, "gen")
            if self.ema is not None:
                self.ema.update(self.generator)
        self.steps += 1
        terms["diversity"] = diversity_ratio(fake, real)
        self.alarm.add(step.all_reduce_mean(terms["diversity"]))
        return terms

    @torch.no_grad()
    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The same terms on validation faces against as many samples of the sampling generator."""
        real = to_signed(batch.x)
        y = batch.y if self.conditional else None
        b = real.shape[0]
        fake = self.sampler()(self.noise(b, real.device), y)
        logits = self.judge(torch.cat([real, fake]), repeat_condition(y, 2))
        real_term, fake_term = discriminator_terms(self.cfg.loss, logits[:b], logits[b:])
        return {"d_loss": real_term + fake_term, "g_loss": generator_loss(self.cfg.loss, logits[b:]),
                "d_real": self.score(logits[:b]), "d_fake": self.score(logits[b:]),
                "diversity": diversity_ratio(fake, real)}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """Samples from fixed noise (the trainer seeds this call), at the shown faces' conditions."""
        return self.decode(self.noise(batch.x.shape[0], batch.x.device), batch.y)

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """The mode-collapse alarm (a warning when the samples lost their diversity); no tracked vectors."""
        self.alarm.epoch_end()
        return {}


@register("dcgan")
class DCGAN(GAN):
    """DC-GAN: G(z) against D(x); dcgan.py."""

    variants = {"--conditions": "cgan"}
    summary = "DC-GAN (bce, lsgan or wgan-gp loss; EMA generator; DiffAugment)"


@register("cgan")
class ConditionalGAN(GAN):
    """Conditional DC-GAN: G(z, y) with y concatenated to z, a projection discriminator D(x, y)."""

    conditional = True
    summary = "conditional DC-GAN on the smile degree (and gender, age; or a CelebA attribute): dcgan.py --conditions"
