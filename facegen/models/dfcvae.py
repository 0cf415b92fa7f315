"""DFC-VAE (Hou et al., 2017): a VAE whose reconstruction term compares deep features, not pixels.

recon(x, x') = sum_l w_l * d_l(phi_l(x), phi_l(x')) + pixel_weight * ||x - x'||^2

where phi_l are layers of a frozen feature network (``cfg.feature_net``: the project's attribute net or
VGG19) and d_l the squared distance of :func:`facegen.perceptual.feature_distance`. The feature net is not
part of the model's weights: it is loaded from the path in the config the first time a loss is computed,
so encoding and decoding a trained run never needs it.
"""

from __future__ import annotations

import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.models.base import ModelConfig, reconstruction_loss
from facegen.models.vae import VAE


def _perceptual():
    """facegen.perceptual, imported on use: it loads checkpoints through facegen.run, which imports the models."""
    from facegen import perceptual

    return perceptual


class DFCVAE(VAE):
    """VAE + perceptual reconstruction loss; trained by the one trainer like every model."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.layers = list(cfg.loss_features)
        if cfg.feature_net:
            self.layers = self.layers or _perceptual().default_layers(cfg.feature_net)
            _perceptual().check_layers(cfg.feature_net, self.layers, cfg.feature_weights)
        self.weights = [float(w) for w in cfg.feature_weights] or [1.0] * len(self.layers)
        self._feature_net: list[nn.Module] = []  # a list, so the frozen net is neither a submodule nor saved

    def feature_net(self, device: torch.device) -> nn.Module:
        """The frozen feature net on ``device``, loaded on first use."""
        if not self.cfg.feature_net:
            raise FacegenError("a DFC-VAE needs a feature net: pass --feature_net (vgg19 or the attribute net "
                               "written by train_feature_net.py)")
        if not self._feature_net:
            self._feature_net.append(_perceptual().load_feature_net(self.cfg.feature_net))
        net = self._feature_net[0]
        if next(net.parameters()).device != device:
            net.to(device)
        return net

    def reconstruction(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        recon = torch.sigmoid(logits)
        loss = _perceptual().feature_distance(self.feature_net(x.device), recon, x, self.layers, self.weights)
        if self.cfg.pixel_weight:
            loss = loss + self.cfg.pixel_weight * reconstruction_loss(logits, x, "mse")
        return loss
