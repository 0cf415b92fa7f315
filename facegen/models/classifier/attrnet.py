"""The attribute classifier as a model of the one trainer: binary cross-entropy on CelebA's 40 attributes.

Its targets are the faces' attributes, served as the condition vector (+1 / -1, see
:class:`~facegen.data.needs.Targets`); the network is :class:`facegen.nn.attrnet.AttributeNet`. The learning rate
follows a one-cycle schedule stepped every batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from facegen.data.batches import Batch
from facegen.data.needs import DataNeeds, Targets
from facegen.models.base import Model, ModelConfig, OptimSettings, Schedule, Step, adam
from facegen.models.registry import register
from facegen.nn.attrnet import AttributeNet


@dataclass
class AttrNetConfig(ModelConfig):
    pass


@register("attrnet")
class AttributeClassifier(Model):
    """Logits for every attribute from an image; trained with BCE, targets (y + 1) / 2."""

    Config = AttrNetConfig
    data_needs = DataNeeds(Targets.ATTRIBUTES)
    schedule = Schedule.RUN  # the one-cycle schedule is laid over all --n_epochs
    summary = "attribute classifier (CelebA's 40 attributes), the DFC-VAE's feature net and the edits' judge"

    def __init__(self, cfg: AttrNetConfig):
        super().__init__(cfg)
        self.net = AttributeNet(cfg.cond_dim, cfg.channels, cfg.size)

    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return {"model": adam(self.parameters(), settings.lr, device)}

    def schedulers(self, optimizers, settings: OptimSettings):
        """One-cycle up to --lr and down again over the whole run, one step per batch."""
        total = max(1, settings.n_epochs * settings.steps_per_epoch)
        return {"model": torch.optim.lr_scheduler.OneCycleLR(optimizers["model"], max_lr=settings.lr,
                                                             total_steps=total)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        logits = self.net(batch.x).float()
        target = (batch.y > 0).float()
        bce = F.binary_cross_entropy_with_logits(logits, target)
        return {"bce": bce, "accuracy": ((logits > 0).float() == target).float().mean()}

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        with step.autocast():
            out = self._terms(batch)
        step.update(out["bce"], "model")
        return {k: v.detach() for k, v in out.items()}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self._terms(batch)

