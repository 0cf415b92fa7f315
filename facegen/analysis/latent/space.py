"""A trained model's latent space: condition vectors, encoding, prior samples, sweeps, axis and PCA walks.

Every function takes and returns CPU tensors; the model runs on whatever device it sits on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from facegen.core.batching import BATCH, batched
from facegen.core.errors import FacegenError
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.models.base import Model
from facegen.runs import Run

MAX_COMPONENTS = 100  # principal axes a PCA keeps at most (a flow's code has C * S * S dimensions)
if TYPE_CHECKING:
    from sklearn.decomposition import PCA

SMILE = 0  # the smile degree is the first condition column ("smile first", see --conditions)


def condition_vector(run: Run, degree: float | torch.Tensor, n: int = 1, base: torch.Tensor | None = None,
                     **others: float | torch.Tensor) -> torch.Tensor:
    """Condition vectors (n, K) for the run: the smile column set to ``degree`` (a number, or one per row),
    any other named column set from ``others`` (likewise), the rest taken from ``base`` (n, K) or left at 0.

    This is the one place a condition vector is built; an unconditional run gets shape (n, 0).
    """
    names = run.cond_names
    degree = torch.as_tensor(degree, dtype=torch.float32)
    if degree.ndim == 1:
        n = degree.shape[0]
    y = torch.zeros(n, len(names)) if base is None else base.detach().float().cpu().clone()
    if not names:
        return y
    y[:, SMILE] = degree
    for name, value in others.items():
        if name not in names:
            raise FacegenError(f"this run has no '{name}' condition (its conditions: {', '.join(names)})")
        y[:, names.index(name)] = value
    return y


def require_conditional(run: Run, what: str) -> None:
    """A clear error for things that only make sense when the decoder sees a smile degree."""
    if not run.cond_names:
        raise FacegenError(f"{what} needs a conditional model, but this run is a {run.model_name} without "
                           f"conditions: use a cvae run")


def encode_images(model: Model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Posterior means (N, L) of images x (float [0, 1], or uint8) with conditions y."""
    return batched(lambda xb, yb: model.encode(xb, yb)[0], x, y, device=_device(model))


@torch.no_grad()
def encode_faces(model: Model, faces: FaceSet) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Posterior means and log-variances (N, L) of a face set, each face with its own conditions
    (log-variance is None for a plain autoencoder)."""
    device = next(model.parameters()).device
    mus, logvars = [], []
    for batch in DeviceFaces(faces, device).in_order(BATCH):
        mu, logvar = model.encode(batch.x, batch.y)
        mus.append(mu.cpu())
        if logvar is not None:
            logvars.append(logvar.cpu())
    return torch.cat(mus), torch.cat(logvars) if logvars else None


def decode(model: Model, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] for codes z (N, L) and conditions y (N, K)."""
    return batched(model.decode, z, y, device=_device(model))


def _device(model: Model) -> torch.device:
    return next(model.parameters()).device


def prior_noise(n: int, latent_size: int, seed: int) -> torch.Tensor:
    """n standard-normal codes (n, L), the same for the same seed on every device."""
    return torch.randn(n, latent_size, generator=torch.Generator().manual_seed(seed))


def degree_sweep(model: Model, run: Run, z: torch.Tensor, degrees: Sequence[float],
                 **others: float) -> torch.Tensor:
    """(D, N, C, H, W): every code in z decoded at every degree, so down a column only the degree changes."""
    d, n = len(degrees), len(z)
    y = condition_vector(run, torch.tensor(degrees).repeat_interleave(n), **others)
    return decode(model, z.repeat(d, 1), y).unflatten(0, (d, n))


def temperature_sweep(model: Model, run: Run, eps: torch.Tensor, temperatures: Sequence[float],
                      degree: float, **others: float) -> torch.Tensor:
    """(T, N, C, H, W): z = t * eps for each temperature t (the prior's standard deviation scaled by t)."""
    t, n = len(temperatures), len(eps)
    z = torch.cat([eps * temp for temp in temperatures])
    return decode(model, z, condition_vector(run, degree, t * n, **others)).unflatten(0, (t, n))


def axis_walk(model: Model, z0: torch.Tensor, axis: int, values: Sequence[float], y: torch.Tensor) -> torch.Tensor:
    """(S, C, H, W): code z0 (L,) with dimension ``axis`` set to each value, decoded with condition y (1, K)."""
    if not 0 <= axis < z0.shape[0]:
        raise FacegenError(f"axis {axis} is out of range: this model has latent dimensions 0-{z0.shape[0] - 1}")
    z = z0.repeat(len(values), 1)
    z[:, axis] = torch.tensor(values, dtype=z.dtype)
    return decode(model, z, y.expand(len(values), -1))


def fit_pca(mu: torch.Tensor, max_components: int = MAX_COMPONENTS, seed: int = 0) -> PCA:
    """PCA of posterior means (N, L), keeping every component when L <= ``max_components``; a larger code (a
    flow's is as large as the image) keeps its leading ``max_components`` axes, from a randomized SVD in float32.
    The explained-variance ratios are shares of the total variance either way."""
    if len(mu) < 2:
        raise FacegenError(f"PCA needs at least 2 encoded faces, got {len(mu)}")
    from sklearn.decomposition import PCA  # scikit-learn is imported only by the scripts that fit something

    if mu.shape[1] <= max_components:
        return PCA().fit(mu.double().numpy())
    k = min(max_components, len(mu))
    return PCA(n_components=k, svd_solver="randomized", random_state=seed).fit(mu.float().numpy())


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, ...) points on the straight line from a to b, both ends included."""
    t = torch.linspace(0, 1, steps).view(-1, *[1] * a.ndim)
    return (1 - t) * a + t * b


def latent_usage(latent_var: torch.Tensor, k: int) -> list[int]:
    """The k most used latent dimensions: largest variance of the posterior means, in descending order."""
    return torch.argsort(latent_var, descending=True)[:k].tolist()
