"""Frozen feature networks for the perceptual (DFC-VAE) reconstruction loss, and that loss.

Two sources: the project's own attribute net (a checkpoint written by train_feature_net.py, layers
``relu1`` ... ``relu4``), or torchvision's VGG19 when its ImageNet weights already sit in the torch
cache (layers ``relu1_1`` ... ``relu5_4``). Nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.nn.attrnet import LAYERS as ATTRNET_LAYERS
from facegen.nn.attrnet import load_attribute_net

VGG19 = "vgg19"
VGG19_FILE = "vgg19-dcbb9e9d.pth"  # the file name torchvision gives VGG19_Weights.IMAGENET1K_V1 in the cache
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_LAYERS = {VGG19: ["relu1_1", "relu2_1", "relu3_1"], "attrnet": ["relu1", "relu2", "relu3"]}


def vgg19_layer_names() -> list[str]:
    """Names of the ReLUs of ``vgg19().features`` in order: relu1_1, relu1_2, relu2_1, ..., relu5_4."""
    names = []
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        names += [f"relu{block}_{i}" for i in range(1, convs + 1)]
    return names


class VGG19Features(nn.Module):
    """VGG19's convolutional part with ImageNet normalisation; ``features`` returns chosen ReLU outputs."""

    def __init__(self, weights_file: Path):
        super().__init__()
        from torchvision.models import vgg19

        net = vgg19(weights=None)
        net.load_state_dict(torch.load(weights_file, map_location="cpu", weights_only=True))
        self.net = net.features
        relus = [i for i, m in enumerate(self.net) if isinstance(m, nn.ReLU)]
        self.index = dict(zip(vgg19_layer_names(), relus, strict=True))
        for m in self.net:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor, layers: list[str]) -> list[torch.Tensor]:
        wanted = [self.index[name] for name in layers]
        h = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
        out = {}
        for i, module in enumerate(self.net[:max(wanted) + 1]):
            h = module(h)
            out[i] = h
        return [out[i] for i in wanted]


def vgg19_weights_file() -> Path:
    """The cached VGG19 ImageNet weights, or a one-line error (never a download)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    if not path.is_file():
        raise FacegenError(f"--feature_net vgg19 needs torchvision's VGG19 ImageNet weights in the torch cache "
                           f"({path}), and nothing is downloaded: put the file there, or use the project's own "
                           f"feature net (train_feature_net.py)")
    return path


def layer_names(spec: str) -> list[str]:
    """The layers a feature net offers."""
    return vgg19_layer_names() if spec == VGG19 else list(ATTRNET_LAYERS)


def default_layers(spec: str) -> list[str]:
    return list(DEFAULT_LAYERS[VGG19 if spec == VGG19 else "attrnet"])


def check_layers(spec: str, layers: Sequence[str], weights: Sequence[float]) -> None:
    """A one-line error for an unknown layer name or a weight list of the wrong length."""
    known = layer_names(spec)
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise FacegenError(f"--loss_features: unknown layer(s) {', '.join(unknown)} for feature net {spec}; "
                           f"choose from {', '.join(known)}")
    if weights and len(weights) != len(layers):
        raise FacegenError(f"--feature_weights gives {len(weights)} weights for {len(layers)} layers "
                           f"({', '.join(layers)}): give one weight per layer")


def resolve_feature_net(spec: str) -> str:
    """``vgg19`` (its cached weights checked) or the absolute path of an existing attribute net, as recorded
    in a run's model config."""
    if spec == VGG19:
        vgg19_weights_file()
        return spec
    path = Path(spec).resolve()
    if not path.is_file():
        raise FacegenError(f"feature net {spec} not found: train it with train_feature_net.py (it writes "
                           f"results/feature_net/attribute_net.pt), or pass --feature_net vgg19 or its path")
    return str(path)


# written by train_feature_net.py; resolved against the project, not the working directory, so a script started
# from another folder finds the same net
DEFAULT_FEATURE_NET = Path(__file__).resolve().parents[2] / "results" / "feature_net" / "attribute_net.pt"


class LazyFeatureNet:
    """The frozen feature net ``spec`` (see :func:`load_feature_net`), loaded on first use and moved to the device
    asked for. A plain object, not a module: a model holding one neither saves nor moves it with its weights."""

    def __init__(self, spec: str):
        self.spec = spec
        self._net: nn.Module | None = None

    def on(self, device: torch.device) -> nn.Module:
        if self._net is None:
            self._net = load_feature_net(self.spec)
        if next(self._net.parameters()).device != device:
            self._net.to(device)
        return self._net


def load_feature_net(spec: str) -> nn.Module:
    """A frozen feature net in eval mode: ``vgg19`` (from the cache) or the path of an attribute net. Its weights
    come from the file, so building it draws nothing from the global random stream: a model that loads it on
    first use (the DFC-VAE) trains the same whether that first use comes before or after a resume."""
    with torch.random.fork_rng(devices=[]):
        net = VGG19Features(vgg19_weights_file()) if spec == VGG19 else load_attribute_net(Path(spec))[0]
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()
