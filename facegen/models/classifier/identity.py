"""The identity embedding as a model of the one trainer: CosFace over the training people of LFW.

Its targets are the people (``Targets.PERSON``: y is one column holding the class number of the
face's person, training people 0 .. cond_dim - 1), so cond_dim is the number of training people and the
classifier has one weight row per person. What is kept is the embedding network
(:class:`facegen.nn.identity.IdentityNet`); the rows only serve the loss (:mod:`facegen.losses.margin`).
Training faces are mirrored by the trainer and randomly scaled and shifted here (``--crop_jitter``), so the
embedding tolerates the framing error of faces cropped from other datasets or from photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.data.needs import DataNeeds, Targets
from facegen.losses.margin import cosface_loss
from facegen.models.base import Model, ModelConfig, OptimSettings, Schedule, option
from facegen.models.registry import register
from facegen.nn.identity import IdentityNet


@dataclass
class IdentityConfig(ModelConfig):
    dim: int = option(128, "embedding size")
    width: int = option(32, "channels of the stem (doubled at each of the three stages)")
    blocks: int = option(1, "residual blocks per stage")
    stem_stride: int = option(2, "stride of the first conv (2 halves the image first, as ResNet stems do: a quarter "
                                 "of the compute; 1 keeps full resolution)", choices=(1, 2))
    dropout: float = option(0.0, "dropout before the embedding layer")
    scale: float = option(30.0, "CosFace scale s of the logits s (cos t_j - m [j = y])")
    margin: float = option(0.3, "CosFace margin m (0: a plain normalised softmax)")
    jitter: float = option(0.1, "random scale (1 +- jitter) and shift (+- jitter of the half-width) of training faces",
                           flag="--crop_jitter")
    weight_decay: float = option(5e-2, "AdamW's decoupled weight decay")

    def check(self) -> None:
        if self.cond_dim < 2:
            raise FacegenError(f"an identity net needs at least 2 training people, found {self.cond_dim}: train it on "
                               f"--dataset lfw with more faces")
        if not 0 <= self.margin < 1 or self.scale <= 0:
            raise FacegenError(f"--margin {self.margin} --scale {self.scale}: need 0 <= margin < 1 and scale > 0")
        if not 0 <= self.jitter < 0.5 or not 0 <= self.dropout < 1 or self.dim < 2 or self.width < 1 or self.blocks < 1:
            raise FacegenError("need 0 <= --crop_jitter < 0.5, 0 <= --dropout < 1, --dim >= 2, --width >= 1, "
                               "--blocks >= 1")


def jittered(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Each image zoomed by a factor in [1 - amount, 1 + amount] and shifted by up to ``amount`` of its half-width
    in x and y (bilinear, the border pixels repeated), drawn from torch's global generator."""
    if amount == 0:
        return x
    n = x.shape[0]
    u = torch.rand(n, 3, device=x.device) * 2 - 1
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 + amount * u[:, 0]
    theta[:, :, 2] = amount * u[:, 1:]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@register("identity")
class IdentityModel(Model):
    """Face embedding trained with a large-margin cosine softmax over the training people."""

    Config = IdentityConfig
    data_needs = DataNeeds(Targets.PERSON)
    schedule = Schedule.RUN  # the one-cycle schedule is laid over all --n_epochs
    summary = "face identity embedding (CosFace over LFW's training people), the judge of 'same person'"

    def __init__(self, cfg: IdentityConfig):
        super().__init__(cfg)
        self.net = IdentityNet(cfg.channels, cfg.size, cfg.dim, cfg.width, cfg.blocks, cfg.dropout, cfg.stem_stride)
        self.classes = nn.Parameter(torch.randn(cfg.cond_dim, cfg.dim) / cfg.dim ** 0.5)

    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        fused = device.type == "cuda"
        return {"model": torch.optim.AdamW(self.parameters(), lr=settings.lr, weight_decay=self.cfg.weight_decay,
                                           fused=fused, foreach=None if fused else True)}

    def schedulers(self, optimizers, settings: OptimSettings):
        """One-cycle up to --lr and down again over the whole run, one step per batch."""
        total = max(1, settings.n_epochs * settings.steps_per_epoch)
        return {"model": torch.optim.lr_scheduler.OneCycleLR(optimizers["model"], max_lr=settings.lr,
                                                             total_steps=total)}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit embeddings (B, dim) of images in [0, 1] (face and mirror image averaged)."""
        return self.net.embed(x)

    def train_step(self, batch: Batch, step) -> dict[str, torch.Tensor]:
        with step.autocast():
            e = self.net(jittered(batch.x, self.cfg.jitter))
            loss, accuracy = cosface_loss(e, self.classes, batch.y[:, 0].long(), self.cfg.scale, self.cfg.margin)
        step.update(loss, "model")
        return {"cosface": loss.detach(), "accuracy": accuracy.detach()}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Mean cosine between the batch's faces of the same (held-out) person and of different people (nan
        when the batch has no such pair); verify_identity.py measures the embedding properly."""
        e = F.normalize(self.net(batch.x).float(), dim=1)
        cos = e @ e.T
        person = batch.y[:, 0]
        same = person[:, None] == person[None, :]
        off = ~torch.eye(len(e), dtype=torch.bool, device=e.device)
        return {"cos_same": cos[same & off].mean(), "cos_diff": cos[~same].mean()}
