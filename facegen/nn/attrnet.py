"""The project's own attribute classifier: a compact CNN that predicts CelebA's 40 binary attributes.

It serves twice: as the judge of attribute edits (evaluate_attributes.py) and, frozen, as the feature
network of the DFC-VAE's perceptual loss (no pretrained weights can be downloaded, so the project trains
its own, as the model ``attrnet`` through the one trainer: train_feature_net.py). Its layers are named
``relu1`` ... ``relu4``. ``attribute_net.pt`` is the self-contained file other runs point at.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, save_checkpoint

LAYERS = ("relu1", "relu2", "relu3", "relu4")
CHANNELS = (16, 32, 64, 128)
POOLED = 4  # the last level is average-pooled to 4 x 4, so the head still knows where a feature is
KIND = "attribute-net"
NET_FILE = "attribute_net.pt"  # the file train_feature_net.py writes into its run folder


class AttributeNet(nn.Module):
    """Four conv levels (3x3 conv, BatchNorm, ReLU, 2x2 max-pool between them), average-pooled to 4 x 4,
    one linear layer to one logit per attribute. Input: images in [0, 1]."""

    def __init__(self, n_attrs: int, channels: int = 3, size: int = 64):
        super().__init__()
        self.n_attrs, self.channels, self.size = n_attrs, channels, size
        blocks, c_in = [], channels
        for c_out in CHANNELS:
            blocks.append(nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                                        nn.ReLU(inplace=True)))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(c_in * POOLED**2, n_attrs)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] at any size / channel count -> this net's input (resized, centred)."""
        if x.shape[1] != self.channels:
            x = x.expand(-1, self.channels, -1, -1) if x.shape[1] == 1 else x.mean(1, keepdim=True)
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        return (x - 0.5) / 0.25

    def features(self, x: torch.Tensor, layers: list[str]) -> list[torch.Tensor]:
        """The activations at ``layers`` (names from LAYERS), computing no further than the last one."""
        wanted = [LAYERS.index(name) for name in layers]
        out: dict[int, torch.Tensor] = {}
        h = self.prepare(x)
        for i, block in enumerate(self.blocks[:max(wanted) + 1]):
            h = block(F.max_pool2d(h, 2) if i else h)
            out[i] = h
        return [out[i] for i in wanted]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attribute logits (B, n_attrs)."""
        h = self.features(x, [LAYERS[-1]])[0]
        return self.head(F.adaptive_avg_pool2d(h, POOLED).flatten(1))


def save_attribute_net(path: Path, net: AttributeNet, attr_names: list[str], metrics: dict) -> None:
    """The weights plus everything needed to rebuild and interpret the net."""
    save_checkpoint(path, {"kind": KIND, "model": net.state_dict(), "attr_names": list(attr_names),
                           "channels": net.channels, "size": net.size, "metrics": metrics})


def load_attribute_net(path: Path) -> tuple[AttributeNet, list[str]]:
    """A trained attribute net in eval mode and the names of its outputs."""
    path = Path(path)
    if not path.exists():
        raise FacegenError(f"attribute net {path} not found: train it with train_feature_net.py "
                           f"(or pass the path it was saved to)")
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        raise FacegenError(f"{path} is not an attribute net saved by train_feature_net.py")
    net = AttributeNet(len(ckpt["attr_names"]), ckpt["channels"], ckpt["size"])
    net.load_state_dict(ckpt["model"])
    return net.eval(), list(ckpt["attr_names"])


def predict_probs(net: AttributeNet, x: torch.Tensor) -> torch.Tensor:
    """P(attribute present) (N, n_attrs) for images x (N, C, H, W) (floats in [0, 1] or uint8), on the CPU."""
    net.eval()
    return batched(lambda b: torch.sigmoid(net(b)), x, device=next(net.parameters()).device)
