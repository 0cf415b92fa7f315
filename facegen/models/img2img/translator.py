"""The supervised translators: a U-Net from one image of a pair to the other, trained with L1.

With s the depth map (1 channel, near = bright, 0 = no depth) and x the photo of the same crop, both in [0, 1],
the generator is G(s) = sigmoid(U(s)) with U the U-Net (:class:`facegen.nn.unet.UNet`), and per batch

    L1(G) = mean over images, channels and pixels of |G(s) - x|
    loss  = l1_weight L1 + perceptual_weight mean_i d(G(s_i), x_i)

where d is the DFC-VAE's feature distance (:func:`facegen.losses.perceptual.feature_distance`: squared
differences of a frozen feature net's maps, summed over positions, averaged over channels). ``face2depth`` is
the same with the roles swapped (photo in, depth map out, L1 only): the network that judges whether a
generated face corresponds to its depth map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.data.needs import DataNeeds
from facegen.losses.perceptual import feature_distance
from facegen.models.base import Model, ModelConfig, Step, option
from facegen.models.registry import register
from facegen.nn.features import (
    DEFAULT_FEATURE_NET,
    LazyFeatureNet,
    check_layers,
    default_layers,
    resolve_feature_net,
)
from facegen.nn.norm import NORMS
from facegen.nn.unet import UPSAMPLERS, UNet

SNAPSHOT_COLUMNS = 8  # faces per row of the snapshot grid (the trainer's grid width)
SNAPSHOT_FACES = 16  # fixed held-out pairs shown: two blocks of rows source | generated | target


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def auto_levels(size: int) -> int:
    """U-Net levels that leave the innermost map 2 or 3 px wide: floor(log2 size) - 1 (64 px: 5, 128: 6)."""
    return max(2, int(math.log2(size)) - 1)


@dataclass
class TranslatorConfig(ModelConfig):
    levels: int = option(0, "U-Net levels, each halving the image (0: as many as leave the innermost map 2-3 px)")
    base_channels: int = option(32, "channels of the U-Net's first level (doubling per level)")
    max_channels: int = option(256, "cap on the U-Net's channels per level")
    norm: str = option("batch", "normalisation in the U-Net", choices=NORMS)
    dropout: float = option(0.0, "dropout as noise in the 3 decoder levels below the innermost (pix2pix: 0.5); "
                                 "on in training and translation alike")
    upsample: str = option("transpose", "U-Net upsampling: transposed convolutions or sub-pixel (PixelShuffle)",
                           choices=UPSAMPLERS)

    def check(self) -> None:
        super().check()
        levels = self.levels or auto_levels(self.size)
        if not 2 <= levels or 2**levels > self.size:
            raise FacegenError(f"--levels {self.levels}: a {self.size} px image allows 2 to "
                               f"{int(math.log2(self.size))} levels (0 picks {auto_levels(self.size)})")
        if not 0 <= self.dropout < 1:
            raise FacegenError(f"--dropout {self.dropout} must lie in [0, 1) (pix2pix uses 0.5)")


@dataclass
class PairedTerms:
    """The generator's paired terms (a mixin of the configs of models that see paired photos)."""

    l1_weight: float = option(1.0, "weight of the mean absolute difference to the paired photo")
    perceptual_weight: float = option(0.0, "weight of the feature distance to the paired photo (0: off)")
    feature_net: str = option(str(DEFAULT_FEATURE_NET), "frozen feature net of the perceptual term: the attribute "
                                                        "net of train_feature_net.py, or vgg19 if cached")
    loss_features: list = option([], "comma-separated layers of the perceptual term (default relu1,relu2,relu3)",
                                 parse=_names)

    def check(self) -> None:
        super().check()  # type: ignore[misc]
        if self.l1_weight < 0 or self.perceptual_weight < 0:
            raise FacegenError("--l1_weight and --perceptual_weight must be 0 or more")
        if self.perceptual_weight > 0:  # the net is recorded as an absolute path, and only when it is used
            self.feature_net = resolve_feature_net(self.feature_net)
            check_layers(self.feature_net, self.loss_features or default_layers(self.feature_net), [])


@dataclass
class SupervisedConfig(PairedTerms, TranslatorConfig):
    pass


class Translator(Model):
    """A U-Net from the pair's source (depth map) to its target (photo); ``reverse`` swaps them."""

    Config: ClassVar[type[ModelConfig]] = TranslatorConfig
    data_needs = DataNeeds(pairs=True)
    reverse: ClassVar[bool] = False

    def __init__(self, cfg: TranslatorConfig):
        super().__init__(cfg)
        self.generator = unet(cfg, *self.channels_in_out(cfg))
        # the perceptual term's frozen net, for the configs that have one (the adversarial modes' do not)
        self.features = LazyFeatureNet(cfg.feature_net) if isinstance(cfg, PairedTerms) else None

    def channels_in_out(self, cfg: TranslatorConfig) -> tuple[int, int]:
        """(input, output) channels: depth maps have 1, photos ``cfg.channels``."""
        return (cfg.channels, 1) if self.reverse else (1, cfg.channels)

    @property
    def in_channels(self) -> int:
        return self.channels_in_out(self.cfg)[0]

    def pair(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of a batch of pairs."""
        if batch.source is None:
            raise FacegenError("this model translates pairs, and the batch holds none: train it with --pairs DIR "
                               "(or no data flags, for the toy pairs)")
        return (batch.x, batch.source) if self.reverse else (batch.source, batch.x)

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] for ``source`` images in [0, 1] (B, in_channels, H, W)."""
        if source.shape[1] != self.in_channels:
            raise FacegenError(f"this model translates images of {self.in_channels} channel(s), got "
                               f"{source.shape[1]}")
        return torch.sigmoid(self.generator(source).float())

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        return self.translate(source)

    # ---- paired terms -----------------------------------------------------------------------------------------
    def paired_terms(self, fake: torch.Tensor, target: torch.Tensor,
                     labelled: torch.Tensor) -> dict[str, torch.Tensor]:
        """L1 (mean over the labelled images' pixels) and the perceptual distance (mean over labelled images);
        both 0 when the batch has no labelled pair. ``loss`` is their weighted sum."""
        weight = labelled.to(fake.dtype)
        n = weight.sum().clamp(min=1)
        l1 = ((fake - target).abs().mean((1, 2, 3)) * weight).sum() / n
        loss = self.cfg.l1_weight * l1
        out = {"l1": l1}
        if self.cfg.perceptual_weight > 0:
            layers = list(self.cfg.loss_features) or default_layers(self.cfg.feature_net)
            per = feature_distance(self.features.on(fake.device), fake, target, layers, [1.0] * len(layers))
            out["perceptual"] = (per * weight).sum() / n
            loss = loss + self.cfg.perceptual_weight * out["perceptual"]
        out["loss"] = loss
        return out

    # ---- what the trainer asks --------------------------------------------------------------------------------
    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Mean absolute difference of the translation to the held-out target."""
        source, target = self.pair(batch)
        return {"l1": (self.translate(source) - target).abs().mean()}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """Up to 16 fixed held-out pairs in blocks of 8: rows source | translation | target."""
        source, target = self.pair(batch)
        n = min(SNAPSHOT_FACES, len(source))
        return snapshot_rows(source[:n], self.translate(source[:n]), target[:n])


@register("d2f_supervised")
class SupervisedDepthToFace(Translator):
    """Depth map -> face with L1 to the paired photo (+ an optional perceptual term)."""

    Config = SupervisedConfig
    summary = "depth map -> face: U-Net, L1 to the paired photo (+ perceptual)"

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        source, target = self.pair(batch)
        with step.autocast():
            logits = self.generator(source)
        out = self.paired_terms(torch.sigmoid(logits.float()), target, batch.labelled)
        step.update(out["loss"], "model")
        return {k: v.detach() for k, v in out.items()}


@register("face2depth")
class FaceToDepth(Translator):
    """Face -> depth map with L1 to the paired depth map: trained on real pairs alone, it judges whether a
    generated face corresponds to the depth map it was made from (evaluate_depth2face.py)."""

    summary = "face -> depth map: U-Net, L1 to the paired depth map (the correspondence judge)"
    reverse = True

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        source, target = self.pair(batch)
        with step.autocast():
            logits = self.generator(source)
        l1 = (torch.sigmoid(logits.float()) - target).abs().mean()
        step.update(l1, "model")
        return {"l1": l1.detach()}


def unet(cfg: TranslatorConfig, in_channels: int, out_channels: int) -> UNet:
    """The U-Net a config describes."""
    return UNet(in_channels, out_channels, depth=cfg.levels or auto_levels(cfg.size), base_channels=cfg.base_channels,
                max_channels=cfg.max_channels, norm=cfg.norm, upsample=cfg.upsample, dropout=cfg.dropout)


def snapshot_rows(source: torch.Tensor, made: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Images for a grid of ``SNAPSHOT_COLUMNS`` per row: for each block of up to 8 pairs the rows source,
    translation and target (grey images shown in RGB when the other side has colour; short rows padded white)."""
    channels = max(source.shape[1], made.shape[1], target.shape[1])
    rows = []
    for start in range(0, len(source), SNAPSHOT_COLUMNS):
        for images in (source, made, target):
            row = images[start:start + SNAPSHOT_COLUMNS].float().expand(-1, channels, -1, -1)
            pad = row.new_ones((SNAPSHOT_COLUMNS - len(row), *row.shape[1:]))
            rows.append(torch.cat([row, pad]))
    return torch.cat(rows)
