"""Per-photo inversion of a conditional decoder: find the code, and optionally tune the decoder, that reconstruct
one photo, so that changing only the condition edits *that* face rather than the encoder's average guess of it.

1. Code inversion (MAP): start from the encoder's mean z0 = E[q(z | x, y)] and minimise, per face,

       L(z) = sum_pixels (decode(z, y) - x)^2 + prior_weight * ||z||^2

   by Adam. With the CVAE's own loss (summed squared error + beta KL, beta = 1), the log posterior of z is this
   with prior_weight = 1/2, so the default is the MAP code under the model that was trained.
2. Pivotal tuning (Roich et al. 2022's idea, for our decoders): with z* fixed (the "pivot"), a copy of the
   decoder is tuned for a few Adam steps on that one photo, L(theta) = sum_pixels (decode_theta(z*, y) - x)^2,
   so what the model could not draw (hair, glasses, age) is drawn; then decode_theta(z*, y_new) is the edit.
   Each face gets its own copy; the run's model is never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from tqdm import tqdm

from facegen.models.base import Model

PRIOR_WEIGHT = 0.5


def _squared_error(model: Model, z: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (model.decode(z, y) - x).square().flatten(1).sum(1)


def invert_codes(model: Model, x: torch.Tensor, y: torch.Tensor, z0: torch.Tensor, steps: int = 200,
                 lr: float = 0.05, prior_weight: float = PRIOR_WEIGHT) -> torch.Tensor:
    """The MAP codes (N, Z) of faces x (N, C, H, W) in [0, 1] at conditions y, from z0; the model is unchanged.
    Faces are independent (the loss is a sum of per-face terms), so all are optimised at once."""
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    z = z0.detach().clone().to(device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    was_training = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        with torch.enable_grad():  # callers may be under no_grad
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = (_squared_error(model, z, y, x) + prior_weight * z.square().sum(1)).sum()
                loss.backward()
                opt.step()
    finally:
        for p in params:
            p.requires_grad_(True)
        model.train(was_training)
    return z.detach()


def tuned_models(model: Model, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, steps: int = 50,
                 lr: float = 1e-4) -> Iterator[Model]:
    """For each face i, a copy of the model whose decoder was tuned ``steps`` Adam steps to draw x[i] from
    (z[i], y[i]) (the encoder is left as it is; the copies are made one at a time)."""
    device = next(model.parameters()).device
    for i in tqdm(range(len(x)), desc="pivotal tuning", leave=False):
        tuned = copy.deepcopy(model).eval()
        xi, yi, zi = x[i:i + 1].to(device), y[i:i + 1].to(device), z[i:i + 1].to(device)
        opt = torch.optim.Adam([p for p in tuned.parameters() if p.requires_grad], lr=lr)
        with torch.enable_grad():  # callers may be under no_grad
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                _squared_error(tuned, zi, yi, xi).sum().backward()
                opt.step()
        yield tuned
