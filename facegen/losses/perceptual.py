"""The perceptual (feature-space) reconstruction distance of the DFC-VAE."""

from __future__ import annotations

import torch
from torch import nn


def feature_distance(net: nn.Module, recon: torch.Tensor, x: torch.Tensor, layers: list[str],
                     weights: list[float]) -> torch.Tensor:
    """Per-image perceptual distance (B,): for each layer, the squared difference of the feature maps of
    ``recon`` and ``x``, summed over positions and averaged over channels (so every layer weighs like one
    image plane), times the layer's weight, summed over layers. Gradients flow into ``recon`` only."""
    with torch.no_grad():
        target = net.features(x, layers)
    total = torch.zeros(x.shape[0], device=x.device)
    for w, a, b in zip(weights, net.features(recon, layers), target, strict=True):
        total = total + w * (a.float() - b.float()).square().sum((2, 3)).mean(1)  # float32 under --amp too
    return total
