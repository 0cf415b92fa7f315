"""The PatchGAN discriminator: output sizes, the receptive field by brute force, pix2pix's layout, no-norm mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.nn.patchgan import PatchGAN, output_size, receptive_field

SMALL = {"base_channels": 4, "max_channels": 16}


@pytest.mark.parametrize(("size", "n_layers", "expected"),
                         [(256, 3, 30), (128, 3, 14), (70, 3, 6), (50, 3, 4), (32, 3, 2), (50, 2, 10), (64, 1, 30)])
def test_output_shape(size, n_layers, expected):
    net = PatchGAN(4, n_layers=n_layers, **SMALL)  # conditional: depth + RGB face
    assert output_size(size, n_layers) == expected
    assert net(torch.rand(2, 4, size, size)).shape == (2, 1, expected, expected)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_receptive_field_by_brute_force(n_layers):
    """The input pixels that one central logit depends on form a square of receptive_field(n) pixels."""
    torch.manual_seed(n_layers)
    net = PatchGAN(3, n_layers=n_layers, norm="none", **SMALL)
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    assert rows.max() - rows.min() + 1 == receptive_field(n_layers) == cols.max() - cols.min() + 1
    assert receptive_field(3) == 70


def test_layout_matches_pix2pix_and_no_norm_has_none():
    """pix2pix's 70x70 PatchGAN ("basic") and its 2-layer one on 1 + 1 channels, as its training log prints
    them (junyanz/pytorch-CycleGAN-and-pix2pix issue 1152: 2.765 M and 0.662 M parameters)."""
    def millions(net: PatchGAN) -> float:
        return round(sum(p.numel() for p in net.parameters()) / 1e6, 3)

    assert millions(PatchGAN(2)) == 2.765 and millions(PatchGAN(2, n_layers=2)) == 0.662
    bare = PatchGAN(4, norm="none", **SMALL)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in bare.modules())
    assert all(m.bias is not None for m in bare.modules() if isinstance(m, nn.Conv2d))
    x = torch.rand(3, 4, 64, 64)  # without batch statistics (WGAN-GP) a sample's logits ignore the others
    torch.testing.assert_close(bare(x)[1:2], bare(x[1:2]))
    batch_norm = PatchGAN(4, **SMALL)
    assert not torch.allclose(batch_norm(x)[1:2], batch_norm(x[1:2]))


def test_too_small_images():
    with pytest.raises(FacegenError, match="at least 24 px"):
        PatchGAN(3, **SMALL)(torch.rand(1, 3, 23, 23))
