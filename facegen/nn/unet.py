"""pix2pix's U-Net generator (Isola et al. 2017), for any image size from 2**depth pixels up.

Encoder: ``depth`` 4x4 stride-2 convolutions (LeakyReLU 0.2 before each but the first; normalisation after
each but the first and the innermost), channels base, 2 base, 4 base, ... capped at ``max_channels``.
Decoder: mirrored, ReLU before each upsampling, normalisation after each but the last; the upsampled map is
concatenated with the encoder map of the same size (the skip connection). The output is logits:
``sigmoid`` of them is the image in [0, 1].

Sizes need not be powers of two; there is no padding of the input. A stride-2 4x4 convolution with padding
1 maps n pixels to floor(n / 2), and every upsampling is told the exact size of the skip it meets:
transposed convolutions get it as ``output_size`` (an output padding of 0 or 1, the adjoint of the
downsampling), sub-pixel upsampling pads the coarse map by one replicated row / column where the skip is
odd and crops the extra one. So 100 px runs as 100 -> 50 -> 25 -> 12 -> 6 -> 3 and back, exactly.

pix2pix's noise is dropout (p = 0.5 there) in the decoder layers just below the innermost one; with
``dropout_in_eval`` it stays on in eval mode, as pix2pix samples at test time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from facegen.core.errors import FacegenError
from facegen.nn.norm import NORMS, conv_bias, norm_layer

UPSAMPLERS = ("transpose", "pixelshuffle")


class SubPixelUp(nn.Module):
    """Upsampling by 2 with a 3x3 convolution to 4x the channels and a pixel shuffle (Shi et al. 2016).

    The convolution starts ICNR-initialised (Aitken et al. 2017): the 4 sub-pixel filters of an output
    channel are equal, so at initialisation it is nearest-neighbour upsampling of a convolution and has no
    checkerboard pattern.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels * 4, 3, padding=1, bias=bias)
        one = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)
        with torch.no_grad():
            self.conv.weight.copy_(one.weight.repeat_interleave(4, dim=0))
            if bias:
                self.conv.bias.copy_(one.bias.repeat_interleave(4))

    def forward(self, x: torch.Tensor, output_size: tuple[int, int]) -> torch.Tensor:
        """``x`` (B, C, h, w) upsampled to ``output_size`` = (H, W) with H in {2h, 2h + 1}, W likewise."""
        (h, w), (oh, ow) = x.shape[-2:], output_size
        x = F.pad(x, (0, (ow + 1) // 2 - w, 0, (oh + 1) // 2 - h), mode="replicate")
        return F.pixel_shuffle(self.conv(x), 2)[..., :oh, :ow]


class UNet(nn.Module):
    """Image (B, in_channels, H, W) -> logits (B, out_channels, H, W), for H, W >= 2**depth."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        *,
        depth: int = 5,
        base_channels: int = 64,
        max_channels: int = 512,
        norm: str = "batch",
        upsample: str = "transpose",
        dropout: float = 0.0,
        dropout_levels: int = 3,
        dropout_in_eval: bool = True,
    ):
        super().__init__()
        if depth < 2:
            raise FacegenError(f"a U-Net needs depth >= 2 (got {depth}): pass a larger depth")
        if upsample not in UPSAMPLERS:
            raise FacegenError(f"unknown upsampling {upsample!r}: pass one of {', '.join(UPSAMPLERS)}")
        if norm not in NORMS:
            raise FacegenError(f"unknown normalisation {norm!r}: pass one of {', '.join(NORMS)}")
        ch = [min(base_channels * 2**i, max_channels) for i in range(depth)]
        self.depth, self.dropout, self.dropout_in_eval = depth, dropout, dropout_in_eval
        bias = conv_bias(norm)
        self.downs = nn.ModuleList(
            nn.Conv2d(in_channels if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=bias or i in (0, depth - 1))
            for i in range(depth)
        )
        self.down_norms = nn.ModuleList(
            norm_layer(norm, ch[i]) if 0 < i < depth - 1 else nn.Identity() for i in range(depth)
        )
        # up[i] undoes down[i]: from the innermost map (or a concatenation of two maps of ch[i] channels)
        # to the size of down[i]'s input, with ch[i - 1] channels (out_channels for the last)
        ups = []
        for i in range(depth):
            c_in = ch[i] if i == depth - 1 else 2 * ch[i]
            c_out = out_channels if i == 0 else ch[i - 1]
            b = bias or i == 0
            ups.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=b) if upsample == "transpose"
                       else SubPixelUp(c_in, c_out, bias=b))
        self.ups = nn.ModuleList(ups)
        self.up_norms = nn.ModuleList(nn.Identity() if i == 0 else norm_layer(norm, ch[i - 1]) for i in range(depth))
        self.dropout_at = {i for i in range(depth - 1 - dropout_levels, depth - 1) if i >= 1}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smallest = 2**self.depth
        if min(x.shape[-2:]) < smallest:
            raise FacegenError(f"a U-Net of depth {self.depth} needs images of at least {smallest} px, got "
                               f"{tuple(x.shape[-2:])}: pass a larger size or a smaller depth")
        skips, h = [], x
        for i, (down, norm) in enumerate(zip(self.downs, self.down_norms, strict=True)):
            skips.append(h)
            h = norm(down(h if i == 0 else F.leaky_relu(h, 0.2)))
        for i in range(self.depth - 1, -1, -1):
            skip = skips[i]
            h = self.up_norms[i](self.ups[i](F.relu(h), output_size=skip.shape[-2:]))
            if i in self.dropout_at and self.dropout > 0:
                h = F.dropout(h, self.dropout, training=self.training or self.dropout_in_eval)
            if i > 0:
                h = torch.cat([skip, h], 1)
        return h
