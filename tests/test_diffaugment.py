"""DiffAugment: shapes, gradients, seeding, and what each op does to an image, checked by brute force."""

from __future__ import annotations

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.nn.diffaugment import brightness, contrast, cutout, diff_augment, saturation, translation

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device_kept_and_gradients_reach_the_input(device, dtype):
    x = torch.rand(6, 3, 16, 12, dtype=dtype, device=device, requires_grad=True)
    out = diff_augment(x, generator=torch.Generator().manual_seed(0))  # a CPU generator serves any device
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_the_gradient_is_the_true_gradient_of_each_op(policy):
    """With its random draws fixed, each op is a differentiable function of the images: autograd's gradient must
    match finite differences (a detached statistic, such as a mean that does not pass gradients, would not)."""
    x = torch.rand(2, 3, 8, 6, dtype=torch.float64, requires_grad=True)

    def augment(images: torch.Tensor) -> torch.Tensor:
        return diff_augment(images, policy, generator=torch.Generator().manual_seed(3))

    assert torch.autograd.gradcheck(augment, (x,), eps=1e-6, atol=1e-6)


def test_empty_policy_is_the_identity_and_unknown_ops_are_one_line_errors():
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(diff_augment(x, ""), x) and torch.equal(diff_augment(x, " , "), x)
    with pytest.raises(FacegenError, match="color, translation, cutout") as err:
        diff_augment(x, "color,flip")
    assert "'flip'" in str(err.value) and "\n" not in str(err.value)


def test_a_seeded_generator_makes_it_repeatable():
    x = torch.rand(8, 3, 16, 16)
    a = diff_augment(x, generator=torch.Generator().manual_seed(3))
    b = diff_augment(x, generator=torch.Generator().manual_seed(3))
    c = diff_augment(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_translation_moves_content_by_an_integer_shift_and_pads_with_zeros():
    b, c, h, w = 64, 2, 16, 24  # shifts up to 2 rows, 3 columns
    x = torch.arange(1, b * c * h * w + 1, dtype=torch.float64).view(b, c, h, w)  # no zeros, all distinct
    out = translation(x, torch.Generator().manual_seed(0))
    shifts = []
    for i in range(b):
        found = []
        for dy in range(-2, 3):
            for dx in range(-3, 4):
                expected = torch.zeros_like(x[i])
                ys, yd = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
                xs, xd = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
                expected[:, yd, xd] = x[i][:, ys, xs]
                if torch.equal(out[i], expected):
                    found.append((dy, dx))
        assert len(found) == 1, f"image {i} is no shifted copy of its input"
        shifts.append(found[0])
    dys, dxs = {s[0] for s in shifts}, {s[1] for s in shifts}
    assert dys == set(range(-2, 3)) and dxs == set(range(-3, 4))  # the whole range is drawn


@pytest.mark.parametrize(("h", "w"), [(16, 12), (10, 10)])
def test_cutout_zeroes_one_rectangle_of_the_stated_size_clipped_at_the_border(h, w):
    size_h, size_w = h // 2, w // 2  # 8 x 6, and 5 x 5 (odd)
    x = torch.ones(200, 3, h, w)
    out = cutout(x, torch.Generator().manual_seed(1))
    assert torch.equal(out[:, :1].expand_as(out), out)  # the same hole in every channel
    interior = 0
    for hole in out[:, 0] == 0:
        rows, cols = torch.nonzero(hole.any(1)).flatten(), torch.nonzero(hole.any(0)).flatten()
        assert len(rows) and len(cols)  # the centre is always inside the image
        assert torch.equal(rows, torch.arange(rows[0], rows[-1] + 1))  # contiguous
        assert torch.equal(cols, torch.arange(cols[0], cols[-1] + 1))
        assert hole.sum() == len(rows) * len(cols)  # a full rectangle
        assert len(rows) <= size_h and len(cols) <= size_w
        assert len(rows) == size_h or rows[0] == 0 or rows[-1] == h - 1  # shorter only where clipped
        assert len(cols) == size_w or cols[0] == 0 or cols[-1] == w - 1
        interior += len(rows) == size_h and len(cols) == size_w
    assert interior > 10


def test_colour_ops_do_what_their_formulas_say():
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(32, 3, 8, 8, dtype=torch.float64)
    shift = brightness(x, gen) - x  # one constant per image in [-1/2, 1/2)
    assert torch.allclose(shift, shift[:, :1, :1, :1].expand_as(shift))
    assert (shift >= -0.5).all() and (shift < 0.5).all() and shift.std() > 0.1
    sat = saturation(x, gen)  # keeps each pixel's channel mean, scales the deviation by one factor in [0, 2)
    assert torch.allclose(sat.mean(1), x.mean(1))
    factor = (sat - sat.mean(1, keepdim=True)) / (x - x.mean(1, keepdim=True))
    assert torch.allclose(factor, factor[:, :1, :1, :1].expand_as(factor)) and (factor >= 0).all()
    assert (factor < 2).all()
    grey = torch.rand(4, 1, 8, 8)
    assert torch.allclose(saturation(grey, gen), grey)
    con = contrast(x, gen)  # keeps the image mean, scales the deviation by one factor in [1/2, 3/2)
    assert torch.allclose(con.mean((1, 2, 3)), x.mean((1, 2, 3)))
    factor = (con - con.mean((1, 2, 3), keepdim=True)) / (x - x.mean((1, 2, 3), keepdim=True))
    assert torch.allclose(factor, factor[:, :1, :1, :1].expand_as(factor))
    assert (factor >= 0.5).all() and (factor < 1.5).all()
