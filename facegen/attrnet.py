"""The project's own attribute classifier: a compact CNN that predicts CelebA's 40 binary attributes.

It serves twice: as the judge of attribute edits (evaluate_attributes.py) and, frozen, as the feature
network of the DFC-VAE's perceptual loss (no pretrained weights can be downloaded, so the project trains
its own). Its layers are named ``relu1`` ... ``relu4``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facegen.core.errors import FacegenError
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.run import load_checkpoint, save_checkpoint

LAYERS = ("relu1", "relu2", "relu3", "relu4")
CHANNELS = (16, 32, 64, 128)
POOLED = 4  # the last level is average-pooled to 4 x 4, so the head still knows where a feature is
KIND = "attribute-net"


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


@torch.no_grad()
def predict_probs(net: AttributeNet, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """P(attribute present) (N, n_attrs) for images x (N, C, H, W) in [0, 1], on the net's device."""
    device = next(net.parameters()).device
    net.eval()
    return torch.cat([torch.sigmoid(net(x[i:i + batch].to(device))).cpu() for i in range(0, len(x), batch)])


def attribute_targets(faces: FaceSet) -> torch.Tensor:
    """The faces' attributes as 0 / 1 floats (N, 40); a clear error for data without them."""
    if "attrs" not in faces.meta:
        raise FacegenError(f"{faces.source} has no attribute labels: use --dataset celeba with --attrs FILE")
    return (faces.meta["attrs"] > 0).float()


@torch.no_grad()
def accuracy(net: AttributeNet, faces: FaceSet, device: torch.device) -> torch.Tensor:
    """Per-attribute accuracy (n_attrs,) of the net on ``faces`` (threshold 0.5)."""
    x = faces.images.float().div(255)
    pred = predict_probs(net.to(device), x) > 0.5
    return (pred == attribute_targets(faces).bool()).float().mean(0)


def train_attribute_net(train: FaceSet, val: FaceSet, *, n_epochs: int, lr: float, batch_size: int,
                        device: torch.device, seed: int) -> tuple[AttributeNet, list[dict]]:
    """Fit the net with binary cross-entropy on every attribute (one-cycle learning rate, random mirroring);
    returns it in eval mode and one row per epoch."""
    targets = attribute_targets(train)
    net = AttributeNet(targets.shape[1], train.channels, train.size).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = n_epochs * math.ceil(len(train) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    data = DeviceFaces(replace(train, cond=targets, cond_names=list(train.attr_names)), device)  # batch.y: targets
    gen = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, n_epochs + 1):
        net.train()
        total, seen = 0.0, 0
        for batch in data.shuffled(batch_size, gen):
            loss = F.binary_cross_entropy_with_logits(net(batch.x), batch.y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched.last_epoch + 1 < steps:
                sched.step()
            total += loss.item() * len(batch.x)
            seen += len(batch.x)
        acc = accuracy(net, val, device)
        history.append({"epoch": epoch, "train_bce": total / max(seen, 1), "val_mean_accuracy": acc.mean().item()})
        print(f"epoch {epoch}: train BCE {history[-1]['train_bce']:.4f}, held-out mean accuracy "
              f"{history[-1]['val_mean_accuracy']:.4f}", flush=True)
    return net.eval(), history

