"""The VAE-GAN balance gate of Larsen et al. 2016's reference code: pause whichever of the discriminator and the
decoder is too far ahead, judged by the discriminator's binary cross-entropies on the step's real and fake images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.errors import FacegenError

EQUILIBRIUM, MARGIN = 0.68, 0.35


@dataclass(frozen=True)
class Gate:
    """Which networks take their adversarial update this step."""

    train_disc: bool
    train_dec: bool


def balance_gate(real_bce: float | torch.Tensor, fake_bce: float | torch.Tensor, *,
                 equilibrium: float = EQUILIBRIUM, margin: float = MARGIN) -> Gate:
    """The discriminator is winning when either BCE < equilibrium - margin: skip its update. It is losing when
    either BCE > equilibrium + margin: skip the decoder's adversarial update. When both would be skipped, both
    train. Comparisons are strict, so a BCE exactly on a bound trains; a NaN BCE triggers neither rule.
    """
    if margin < 0:
        raise FacegenError(f"the balance margin must be >= 0, not {margin}: pass e.g. --margin 0.35")
    real, fake = float(real_bce), float(fake_bce)
    low, high = equilibrium - margin, equilibrium + margin
    train_disc = not (real < low or fake < low)
    train_dec = not (real > high or fake > high)
    if not (train_disc or train_dec):
        return Gate(train_disc=True, train_dec=True)
    return Gate(train_disc=train_disc, train_dec=train_dec)
