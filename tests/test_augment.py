"""Colour jitter keeps shape and range, follows its formulas and repeats for a seeded generator."""

from __future__ import annotations

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.data.augment import color_jitter


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("channels", [1, 3])
def test_shape_range_and_repeatability(channels):
    x = torch.rand(16, channels, 12, 12)
    out = color_jitter(x, seeded(), 0.5, 0.5, 0.5)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, color_jitter(x, seeded(), 0.5, 0.5, 0.5))
    assert not torch.equal(out, color_jitter(x, seeded(1), 0.5, 0.5, 0.5))
    assert not torch.equal(out, x)


def test_zero_strength_is_the_identity_and_each_factor_is_one_per_image():
    x = torch.rand(8, 3, 6, 6, dtype=torch.float64) * 0.5 + 0.25  # far from 0 and 1: nothing clamps
    assert torch.equal(color_jitter(x, seeded(), 0, 0, 0), x)
    ratio = color_jitter(x, seeded(), brightness=0.2, contrast=0, saturation=0) / x
    assert torch.allclose(ratio, ratio[:, :1, :1, :1].expand_as(ratio))
    assert (ratio >= 0.8).all() and (ratio <= 1.2).all() and ratio.std() > 0.01
    u = torch.rand(8, 3, generator=seeded(), dtype=torch.float32).double()
    assert torch.allclose(ratio[:, 0, 0, 0], 1 + 0.2 * (2 * u[:, 0] - 1))  # the documented draw
    luma = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)
    grey_mean = (x * luma).sum(1).mean((1, 2))
    con = color_jitter(x, seeded(), brightness=0, contrast=0.3, saturation=0)  # keeps the mean grey level
    assert torch.allclose((con * luma).sum(1).mean((1, 2)), grey_mean)
    sat = color_jitter(x, seeded(), brightness=0, contrast=0, saturation=0.3)  # keeps each pixel's grey
    assert torch.allclose((sat * luma).sum(1), (x * luma).sum(1))


def test_saturation_leaves_grey_pixels_alone_and_clamping_keeps_range():
    grey = torch.rand(4, 1, 5, 5).expand(4, 3, 5, 5).contiguous()
    assert torch.allclose(color_jitter(grey, seeded(), 0, 0, 1.0), grey, atol=1e-6)
    one = torch.rand(4, 1, 5, 5)
    assert torch.allclose(color_jitter(one, seeded(), 0, 0, 1.0), one)
    bright = color_jitter(torch.ones(4, 3, 5, 5), seeded(), 1.0, 1.0, 1.0)
    assert bright.max() <= 1 and bright.min() >= 0


def test_bad_strengths_are_one_line_errors():
    with pytest.raises(FacegenError, match="contrast must lie in"):
        color_jitter(torch.rand(1, 3, 4, 4), seeded(), contrast=-0.1)
    with pytest.raises(FacegenError, match="brightness must lie in"):
        color_jitter(torch.rand(1, 3, 4, 4), seeded(), brightness=1.5)
