"""The U-Net generator: exact round trip of any size, gradients, pix2pix's layout, sub-pixel upsampling, noise."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from facegen.core.errors import FacegenError
from facegen.nn.unet import SubPixelUp, UNet

SMALL = {"base_channels": 4, "max_channels": 16}


@pytest.mark.parametrize("upsample", ["transpose", "pixelshuffle"])
@pytest.mark.parametrize("size", [32, 50, 64, 100, 128, 256])
def test_every_size_round_trips(size, upsample):
    torch.manual_seed(0)
    net = UNet(1, 3, depth=5, upsample=upsample, **SMALL)
    assert net(torch.rand(2, 1, size, size)).shape == (2, 3, size, size)


def test_rectangles_and_too_small_images():
    net = UNet(4, 2, depth=4, **SMALL)
    assert net(torch.rand(2, 4, 40, 72)).shape == (2, 2, 40, 72)
    with pytest.raises(FacegenError, match="at least 16 px"):
        net(torch.rand(2, 4, 15, 40))
    with pytest.raises(FacegenError, match="upsampling"):
        UNet(upsample="bilinear")
    with pytest.raises(FacegenError, match="normalisation"):
        UNet(norm="layer")


@pytest.mark.parametrize("upsample", ["transpose", "pixelshuffle"])
def test_gradient_reaches_every_input_pixel(upsample):
    torch.manual_seed(1)
    net = UNet(1, 3, depth=5, upsample=upsample, **SMALL)
    x = torch.rand(2, 1, 50, 50, requires_grad=True)
    (net(x) * torch.randn(2, 3, 50, 50)).sum().backward()
    assert (x.grad != 0).all()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_layout_matches_pix2pix():
    """Parameter counts of pix2pix's unet_256 and unet_64 with 1-channel input and output, as its training log
    prints them (junyanz/pytorch-CycleGAN-and-pix2pix issue 1152: 54.408 M and 29.238 M); this U-Net adds a
    bias to the first and the innermost convolutions (64 + 512 parameters), which no normalisation follows."""
    def millions(net: UNet) -> float:
        return round((sum(p.numel() for p in net.parameters()) - 64 - 512) / 1e6, 3)

    assert millions(UNet(1, 1, depth=8, base_channels=64, max_channels=512)) == 54.408
    assert millions(UNet(1, 1, depth=6, base_channels=64, max_channels=512)) == 29.238
    assert UNet(depth=8).dropout_at == {4, 5, 6}  # pix2pix's dropout: the three 512-channel blocks below the innermost


def test_subpixel_starts_as_nearest_neighbour_upsampling():
    torch.manual_seed(2)
    up = SubPixelUp(3, 5)
    x = torch.randn(2, 3, 6, 7)
    out = up(x, (13, 14))  # odd height: one replicated row added at the bottom, then cropped
    assert out.shape == (2, 5, 13, 14)
    conv = F.conv2d(F.pad(x, (0, 0, 0, 1), mode="replicate"), up.conv.weight[::4], up.conv.bias[::4], padding=1)
    nearest = conv.repeat_interleave(2, -2).repeat_interleave(2, -1)[..., :13, :14]
    torch.testing.assert_close(out, nearest)


def test_dropout_is_noise_even_in_eval_mode():
    torch.manual_seed(3)
    x = torch.rand(2, 1, 32, 32)
    noisy = UNet(1, 3, dropout=0.5, **SMALL).eval()
    assert not torch.equal(noisy(x), noisy(x))
    still = UNet(1, 3, dropout=0.5, dropout_in_eval=False, **SMALL).eval()
    plain = UNet(1, 3, **SMALL).eval()
    assert torch.equal(still(x), still(x)) and torch.equal(plain(x), plain(x))
