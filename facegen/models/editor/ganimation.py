"""GANimation for the smile (Pumarola et al. 2018): an attention generator that changes only what the expression
needs, trained unpaired against a discriminator that also regresses the expression.

Per training step, with x the real patches (in [-1, 1]), y their degrees and t = y of a shuffled copy of the
batch (each face is asked for another face's smile, as GANimation samples target expressions), G(x, t) =
A C + (1 - A) x (:class:`facegen.nn.ganimation.AttentionGenerator`), D = (score, regressed degree):

1. discriminator (least squares): mean (D_s(x) - 1)^2 + mean D_s(G(x, t))^2 + lambda_reg mean (D_r(x) - y)^2, every
   image it sees moved by one random offset of up to ``shift`` px;
2. generator: mean (D_s(G(x, t)) - 1)^2 + lambda_cond mean (D_r(G(x, t)) - t)^2
   + lambda_cyc |G(G(x, t), y) - x|_1 (the edit undone gives the face back: it keeps the person)
   + lambda_att (mean A + mean A') + lambda_tv (TV(A) + TV(A')) over both passes' masks (small, smooth masks:
   the rest of the face is passed through), TV = mean absolute difference of neighbouring mask pixels.

Terms per step: g_loss, d_loss, cond (the generator's regressed-degree error), reg (D's error on real faces),
cyc, attention (mean A of the edit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.models.base import Model, ModelConfig, OptimSettings, Step, adam, option
from facegen.models.registry import register
from facegen.nn.ganimation import AttentionGenerator, CriticRegressor


@dataclass
class AttentionEditorConfig(ModelConfig):
    """The networks and terms shared by the attention editors (GANimation and the taught editor)."""

    g_width: int = option(32, "generator channels at full resolution (x2, x4 after its two downsamplings)")
    n_res: int = option(3, "residual blocks of the generator at a quarter of the resolution")
    skips: bool = option(True, "U-Net skips in the generator (the colour image keeps the face's own tones)")
    film: bool = option(False, "the target degree also scales and shifts the generator's features (FiLM) after its "
                               "residual blocks and before its heads")
    d_width: int = option(32, "discriminator channels of its first layer (doubling per layer)")
    d_layers: int = option(4, "stride-2 layers of the discriminator")
    spectral: bool = option(True, "spectral normalisation in the critic")
    pooled: bool = option(True, "the critic regresses the degree from features averaged over every position")
    shift: int = option(6, "px by which the critic's inputs are moved at random each step (0: never)")
    d_lr_mult: float = option(1.0, "the critic's learning rate over the generator's (two time-scale updates)")
    beta1: float = option(0.5, "Adam beta1 of both players")
    lambda_reg: float = option(1.0, "weight of the discriminator's degree regression on real faces")
    lambda_cond: float = option(2.0, "weight of the edited face's regressed degree against its target")
    lambda_att: float = option(0.02, "weight of the attention masks' mean (how much may change)")
    lambda_tv: float = option(0.2, "weight of the attention masks' total variation (smooth masks)")

    def weights(self) -> tuple[float, ...]:
        """Every loss weight and the critic's learning-rate multiplier (each must be finite and 0 or more)."""
        return self.lambda_reg, self.lambda_cond, self.lambda_att, self.lambda_tv, self.d_lr_mult

    def check(self) -> None:
        if self.cond_dim < 1:
            raise FacegenError("the smile editor needs faces with a smile degree: pass --labels with degrees")
        if min(self.g_width, self.d_width, self.d_layers) < 1 or self.n_res < 0 or self.shift < 0:
            raise FacegenError("--g_width, --d_width and --d_layers must be at least 1, --n_res and --shift at least 0")
        if self.size % 2**self.d_layers or self.size % 4:
            raise FacegenError(f"--resize {self.size} must be divisible by 4 and by 2^d_layers = {2**self.d_layers}: "
                               f"pass e.g. --resize 96 or 128")
        if not all(w >= 0 and w < float("inf") for w in self.weights()):
            raise FacegenError("the --lambda_* weights and --d_lr_mult must be finite and 0 or more")


@dataclass
class GANimationConfig(AttentionEditorConfig):
    lambda_cyc: float = option(10.0, "weight of the cycle term |G(G(x, t), y) - x|_1")

    def weights(self) -> tuple[float, ...]:
        return (*super().weights(), self.lambda_cyc)


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between vertically and horizontally neighbouring pixels, summed."""
    return (mask[..., 1:, :] - mask[..., :-1, :]).abs().mean() + (mask[..., :, 1:] - mask[..., :, :-1]).abs().mean()


@register("ganimation")
class GANimation(Model):
    """Attention generator + critic-regressor for a continuous smile degree (models/editor)."""

    Config = GANimationConfig
    conditional = True
    summary = "GANimation smile editor: attention generator + regressing critic, trained unpaired"
    draws_shape = False  # the photo pipeline moves the mouth's corners by a landmark warp before it draws

    def __init__(self, cfg: AttentionEditorConfig):
        super().__init__(cfg)
        self.generator = AttentionGenerator(cfg.channels, cfg.cond_dim, cfg.g_width, cfg.n_res, cfg.skips, cfg.film)
        self.critic = CriticRegressor(cfg.size, cfg.channels, cfg.cond_dim, cfg.d_width, cfg.d_layers, cfg.spectral,
                                     cfg.pooled)

    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, 0.999)
        return {"gen": adam(self.generator.parameters(), settings.lr, device, betas),
                "disc": adam(self.critic.parameters(), settings.lr * self.cfg.d_lr_mult, device, betas)}

    def edit(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Faces x (B, C, S, S) in [0, 1] given degrees ``target`` (B, K): (edited, colour, attention), images in
        [0, 1]."""
        out, colour, attention = self.generator(x * 2 - 1, target)
        return ((out + 1) / 2).clamp(0, 1), ((colour + 1) / 2).clamp(0, 1), attention

    def degree(self, x: torch.Tensor) -> torch.Tensor:
        """The critic's reading (B, K) of the expression of faces x in [0, 1]: what a face's own degree is."""
        return self.critic(x * 2 - 1)[1]

    def shifted(self, *images: torch.Tensor) -> list[torch.Tensor]:
        """The images all moved by one random offset of up to ``shift`` px (edges repeated): what the critic sees,
        so that no pattern painted at one place of the patch can fool it."""
        k = self.cfg.shift
        if k == 0:
            return list(images)
        dy, dx = (int(v) for v in torch.randint(0, 2 * k + 1, (2,)))
        size = images[0].shape[-1]
        return [F.pad(x, (k, k, k, k), mode="replicate")[..., dy:dy + size, dx:dx + size] for x in images]

    def update_critic(self, real: torch.Tensor, degrees: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
                      step: Step) -> tuple[torch.Tensor, torch.Tensor]:
        """One least-squares critic update: ``real`` images (in [-1, 1]) with their ``degrees`` against the
        generator's edits of ``source`` to ``target`` (nothing flows back into the generator); (d_loss, reg)."""
        with step.autocast():
            with torch.no_grad():
                fake = self.generator(source, target)[0]
            seen_real, seen_fake = self.shifted(real, fake)
            s_real, r_real = self.critic(seen_real)
            s_fake, _ = self.critic(seen_fake)
            reg = (r_real.float() - degrees).pow(2).mean()
            d_loss = (s_real.float() - 1).pow(2).mean() + s_fake.float().pow(2).mean()
        step.update(d_loss + self.cfg.lambda_reg * reg, "disc")
        return d_loss, reg

    @contextlib.contextmanager
    def frozen_critic(self) -> Iterator[None]:
        """The critic's weights kept out of the generator's backward pass (its gradients would be wasted)."""
        self.critic.requires_grad_(False)
        try:
            yield
        finally:
            self.critic.requires_grad_(True)

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        x, y = batch.x * 2 - 1, batch.y
        t = y[torch.randperm(len(y), device=y.device)]
        d_loss, reg = self.update_critic(x, y, x, t, step)
        with self.frozen_critic():
            with step.autocast():
                fake, _, attention = self.generator(x, t)
                s, r = self.critic(self.shifted(fake)[0])
                back, _, attention_back = self.generator(fake, y)
                adv = (s.float() - 1).pow(2).mean()
                cond = (r.float() - t).pow(2).mean()
                cyc = (back.float() - x).abs().mean()
                masks = attention.float().mean() + attention_back.float().mean()
                tv = total_variation(attention.float()) + total_variation(attention_back.float())
                g_loss = adv + cfg.lambda_cond * cond + cfg.lambda_cyc * cyc + cfg.lambda_att * masks \
                    + cfg.lambda_tv * tv
            step.update(g_loss, "gen")
        return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "cond": cond.detach(), "reg": reg.detach(),
                "cyc": cyc.detach(), "attention": attention.detach().float().mean()}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """On held-out patches: the critic's degree error on real faces, and the cycle error and regressed-degree
        error of edits to the opposite smile."""
        x, y = batch.x * 2 - 1, batch.y
        t = -y
        fake = self.generator(x, t)[0]
        back = self.generator(fake, y)[0]
        return {"reg": (self.critic(x)[1] - y).pow(2).mean(), "cond": (self.critic(fake)[1] - t).pow(2).mean(),
                "cyc": (back - x).abs().mean()}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """The shown patches, then each given smile -1, then +1."""
        n = batch.x.shape[0]
        target = torch.ones(n, self.cfg.cond_dim, device=batch.x.device)
        return torch.cat([batch.x, self.edit(batch.x, -target)[0], self.edit(batch.x, target)[0]])
