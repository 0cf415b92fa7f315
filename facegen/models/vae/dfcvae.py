"""DFC-VAE (Hou et al., 2017): a VAE whose reconstruction term compares deep features, not pixels.

recon(x, x') = sum_l w_l * d_l(phi_l(x), phi_l(x')) + pixel_weight * ||x - x'||^2

where phi_l are layers of a frozen feature network (``cfg.feature_net``: the project's attribute net or
VGG19) and d_l the squared distance of :func:`facegen.losses.perceptual.feature_distance`. The feature net is
not part of the model's weights: it is loaded from the path in the config the first time a loss is computed,
so encoding and decoding a trained run never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.argtypes import nonnegative_float
from facegen.losses.elbo import reconstruction_loss
from facegen.losses.perceptual import feature_distance
from facegen.models.base import option
from facegen.models.registry import register
from facegen.models.vae.autoencoder import VAE, VAEConfig
from facegen.nn.features import (
    DEFAULT_FEATURE_NET,
    LazyFeatureNet,
    check_layers,
    default_layers,
    resolve_feature_net,
)


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _weights(text: str) -> list[float]:
    """Comma-separated layer weights, each a finite number >= 0."""
    return [nonnegative_float(v) for v in _names(text)]


@dataclass
class DFCVAEConfig(VAEConfig):
    recon_loss: str = option("perceptual", "reconstruction loss: deep features of --feature_net",
                             choices=("perceptual",), flag="--loss")
    feature_net: str = option(str(DEFAULT_FEATURE_NET),
                              "frozen feature network: the attribute net written by train_feature_net.py, or vgg19 "
                              "(torchvision's ImageNet weights, used only if already in the torch cache)")
    loss_features: list = option([], "comma-separated layers to compare (default relu1,relu2,relu3 of the attribute "
                                     "net; relu1_1,relu2_1,relu3_1 of vgg19)", parse=_names)
    feature_weights: list = option([], "comma-separated weight of each layer, each >= 0 (default 1 each)",
                                  parse=_weights)
    pixel_weight: float = option(0.0, "weight of an extra pixel MSE term, >= 0 (0: features only)",
                                 parse=nonnegative_float)

    def check(self) -> None:
        """The feature net exists (recorded as an absolute path) and has the named layers."""
        self.feature_net = resolve_feature_net(self.feature_net)
        check_layers(self.feature_net, self.loss_features or default_layers(self.feature_net), self.feature_weights)


@register("dfcvae")
class DFCVAE(VAE):
    """VAE + perceptual reconstruction loss; trained with vae.py --loss perceptual."""

    Config = DFCVAEConfig
    summary = "DFC-VAE: a VAE with a feature-space (perceptual) reconstruction loss (vae.py --loss perceptual)"

    def __init__(self, cfg: DFCVAEConfig):
        super().__init__(cfg)
        self.layers = list(cfg.loss_features) or default_layers(cfg.feature_net)
        self.weights = [float(w) for w in cfg.feature_weights] or [1.0] * len(self.layers)
        self.features = LazyFeatureNet(cfg.feature_net)

    def reconstruction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        recon = torch.sigmoid(logits)
        loss = feature_distance(self.features.on(x.device), recon, x, self.layers, self.weights)
        if self.cfg.pixel_weight:
            loss = loss + self.cfg.pixel_weight * reconstruction_loss(logits, x, "mse")
        return loss
