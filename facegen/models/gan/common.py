"""What the GAN family's models share: the image range, freezing a player, the optimizers, the diversity alarm,
and the steering hooks on the generator that draws the samples."""

from __future__ import annotations

import abc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from facegen.core.distributed import world_from_env
from facegen.core.stats import mean_pairwise_distance
from facegen.models.base import Model, adam
from facegen.models.capabilities import GaussianPrior
from facegen.nn.dcgan import Generator


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (the data's range) -> [-1, 1] (the networks' range)."""
    return x * 2 - 1


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> [0, 1], clamped (what the scripts and figures take)."""
    return ((x + 1) / 2).clamp(0, 1)


def repeat_condition(y: torch.Tensor | None, times: int) -> torch.Tensor | None:
    """The conditions of a batch for ``times`` stacked copies of it (real, fake, ...), or None."""
    return None if y is None else torch.cat([y] * times)


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter of ``module`` requires a gradient inside the block: a player that is only looked through (the
    discriminator during the generator's update) gets no weight gradients computed."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def player_optimizers(players: dict[str, nn.Module], lr: float, betas: tuple[float, float],
                      device: torch.device) -> dict[str, torch.optim.Optimizer]:
    """One Adam per player (the DC-GAN's lr 2e-4, betas (0.5, 0.999) by default)."""
    return {name: adam(net.parameters(), lr, device, betas=betas) for name, net in players.items()}


def diversity_ratio(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean pairwise distance of the samples over that of the real faces of the same batch: about 1 for samples
    as varied as the data, towards 0 when the generator collapses onto a few modes."""
    return mean_pairwise_distance(fake.float()) / mean_pairwise_distance(real.float()).clamp_min(1e-12)


class CollapseAlarm(nn.Module):
    """The mode-collapse alarm: one warning line on stderr (rank 0) when an epoch's samples are less varied than
    ``threshold`` times the real faces (:func:`diversity_ratio`) after an earlier epoch's were not. A generator
    starts out drawing nearly the same image, so low diversity alone says nothing; losing it does. The best
    epoch so far is a buffer, so a resumed run warns exactly when a straight one would."""

    def __init__(self, model_name: str, threshold: float):
        super().__init__()
        self.model_name, self.threshold = model_name, threshold
        self.register_buffer("best", torch.zeros(()))
        self._epoch: list[torch.Tensor] = []

    def add(self, diversity: torch.Tensor) -> None:
        """A step's diversity ratio, already averaged over the processes (``Step.all_reduce_mean``), so every
        rank keeps the same best."""
        self._epoch.append(diversity.detach())

    def epoch_end(self) -> float | None:
        """The epoch's mean diversity ratio (None when no step ran), warning when it collapsed."""
        if not self._epoch:
            return None
        diversity = float(torch.stack(self._epoch).double().mean())
        self._epoch.clear()
        world = world_from_env()
        if diversity < self.threshold <= float(self.best) and world.is_main:
            print(f"warning: {self.model_name} samples were only {diversity:.2f} as varied as the real faces this "
                  f"epoch (best so far {float(self.best):.2f}, alarm below {self.threshold:g}): the generator may be "
                  "collapsing onto a few faces; look at the snapshots, and consider a lower --lr, --diffaugment or "
                  "another --loss", file=sys.stderr)
        self.best.fill_(max(float(self.best), diversity))
        return diversity


class GeneratorModel(GaussianPrior, Model):
    """A model whose faces come from a DC-GAN :class:`Generator` (:meth:`sampler`); SeFa's and GANSpace's hooks
    (:class:`facegen.models.base.Model`) read that generator, the EMA copy when the model samples from one."""

    @abc.abstractmethod
    def sampler(self) -> Generator:
        """The generator that draws samples."""

    def first_layer_weight(self) -> torch.Tensor:
        """A (C * 4 * 4, latent_size): what the generator's first layer multiplies z by (a condition's columns
        left out)."""
        return self.sampler().z_weight()

    @torch.no_grad()
    def generator_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The sampling generator's activation after its first transposed-convolution block, (N, D) float32, in
        the model's mode (eval for a loaded run: BatchNorm with its running statistics, as samples are drawn)."""
        return self.sampler().features(z, y if self.conditional else None)
