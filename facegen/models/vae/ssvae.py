"""Semi-supervised CVAE: Kingma et al.'s M2 model (2014) with a continuous smile degree.

The inference head q(y|x) sees the image alone (its own conv encoder) and gives the smile degree a scaled
Beta distribution, which keeps y in [-1, +1] by construction::

    y = 2 b - 1,   b ~ Beta(a, c),   a = 1 + softplus(h_a(x)),   c = 1 + softplus(h_c(x))

a, c >= 1 makes q unimodal with a finite density inside (-1, 1); the predicted degree is its mean (a - c) / (a + c).
The prior on y is uniform on [-1, +1] (the scaled Beta(1, 1)), so KL(q(y|x) || p(y)) = -H[Beta(a, c)] >= 0, in
closed form. Per face, with beta weighting the latent KLs and alpha (--label_weight) the supervised term::

    labelled:    recon(x | z, y) + beta KL(q(z|x,y) || N(0, I)) + alpha (-log q(y|x))      (log p(y) is constant)
    unlabelled:  recon(x | z, y') + beta KL(q(z|x,y') || N(0, I)) + beta KL(q(y|x) || U[-1, 1])

where y' = 2 b' - 1 with b' drawn from Beta(a, c) by reparameterisation (torch's implicit gradients), a one-sample
estimate of M2's expectation over q(y|x) through which gradients reach the head. Only the first condition (smile)
is inferred: further conditions (gender, age) are known for every face and used as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Beta

from facegen.core.argtypes import nonnegative_float
from facegen.data.needs import DataNeeds
from facegen.losses.elbo import kl_to_standard_normal, reparameterize
from facegen.models.base import option
from facegen.models.registry import register
from facegen.models.vae.autoencoder import CVAE, VAEConfig
from facegen.nn.conv import Encoder

LABEL_EPS = 1e-3  # labels of exactly +-1 are moved this far inside, where the Beta log-density is finite


@dataclass
class SemiSupervisedConfig(VAEConfig):
    label_weight: float = option(50.0, "weight (alpha) of the supervised term -log q(y|x) on labelled faces (>= 0)",
                                 parse=nonnegative_float)


@register("sscvae")
class SemiSupervisedCVAE(CVAE):
    """CVAE plus the inference head q(y|x) for the smile degree, trained on labelled and unlabelled faces."""

    Config = SemiSupervisedConfig
    data_needs = DataNeeds(unlabelled=True)
    summary = "semi-supervised CVAE (M2 with a Beta head q(y|x)), trained with cvae.py --unlabeled"

    def __init__(self, cfg: SemiSupervisedConfig):
        super().__init__(cfg)
        self.smile_encoder = Encoder(cfg.size, cfg.channels, 0, cfg.base_channels, cfg.max_channels)
        self.smile_head = nn.Linear(self.smile_encoder.out_features, 2)

    def smile_posterior(self, x: torch.Tensor) -> Beta:
        """q(b|x) with b = (y + 1) / 2 in [0, 1]."""
        h = self.smile_head(self.smile_encoder(x)).float()  # float32 under --amp: Beta sampling needs it
        a, c = (1 + F.softplus(h)).unbind(1)
        return Beta(a, c)

    def predict_smile(self, x: torch.Tensor) -> torch.Tensor:
        """The mean smile degree of q(y|x), shape (B,), in [-1, +1]."""
        return 2 * self.smile_posterior(x).mean - 1

    def loss(self, x: torch.Tensor, y: torch.Tensor, labelled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Batch-mean M2 terms; ``kl`` is the z-KL plus, for unlabelled faces, the y-KL; ``sup`` is the mean
        -log q(y|x) over the labelled faces of the batch (0 when there are none)."""
        if labelled is None:
            labelled = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        q_y = self.smile_posterior(x)
        y_drawn = 2 * q_y.rsample() - 1
        y = y.clone()
        y[:, 0] = torch.where(labelled, y[:, 0], y_drawn)
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar)
        recon = self.reconstruction(self.decode_logits(z, y), x)
        kl_y = torch.where(labelled, 0.0, -q_y.entropy())
        kl = kl_to_standard_normal(mu, logvar) + kl_y
        target = ((y[:, 0] + 1) / 2).clamp(LABEL_EPS / 2, 1 - LABEL_EPS / 2)
        nll = math.log(2) - q_y.log_prob(target)  # -log q(y|x): the density of y is that of b, halved
        sup = torch.where(labelled, nll, 0.0)
        n_lab = labelled.sum().clamp(min=1)
        loss = (recon + self.cfg.beta * kl + self.cfg.label_weight * sup).mean()
        return {"loss": loss, "recon": recon.mean(), "kl": kl.mean(), "mu": mu.detach(),
                "sup": sup.sum() / n_lab, "kl_y": kl_y.sum() / (~labelled).sum().clamp(min=1)}
