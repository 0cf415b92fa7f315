"""The VAE-GAN balance gate skips exactly when its conditions hold, bounds included."""

from __future__ import annotations

import math

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.losses.balance import EQUILIBRIUM, MARGIN, Gate, balance_gate

LOW, HIGH = EQUILIBRIUM - MARGIN, EQUILIBRIUM + MARGIN  # about 0.33 and 1.03
EPS = 1e-9


@pytest.mark.parametrize(
    ("real", "fake", "disc", "dec"),
    [
        (0.68, 0.68, True, True),  # at equilibrium
        (LOW, HIGH, True, True),  # exactly on both bounds: neither rule fires
        (LOW - EPS, 0.68, False, True),  # real BCE low: the discriminator is winning
        (0.68, LOW - EPS, False, True),  # fake BCE low: the same
        (0.1, 0.2, False, True),
        (HIGH + EPS, 0.68, True, False),  # real BCE high: the discriminator is losing
        (0.68, HIGH + EPS, True, False),
        (2.0, 3.0, True, False),
        (LOW - EPS, HIGH + EPS, True, True),  # both rules fire: train both
        (HIGH + EPS, LOW - EPS, True, True),
        (math.nan, 0.68, True, True),
    ],
)
def test_gate_table(real, fake, disc, dec):
    assert balance_gate(real, fake) == Gate(train_disc=disc, train_dec=dec)


def test_custom_bounds_tensors_and_a_negative_margin():
    assert balance_gate(torch.tensor(0.25), torch.tensor(0.5), equilibrium=0.5, margin=0.25) == Gate(True, True)
    assert balance_gate(torch.tensor(0.2), torch.tensor(0.5), equilibrium=0.5, margin=0.25) == Gate(False, True)
    assert balance_gate(0.5, 0.76, equilibrium=0.5, margin=0.25) == Gate(True, False)
    assert balance_gate(0.5, 0.5, equilibrium=0.5, margin=0.0) == Gate(True, True)
    with pytest.raises(FacegenError, match="margin"):
        balance_gate(0.5, 0.5, margin=-0.1)
