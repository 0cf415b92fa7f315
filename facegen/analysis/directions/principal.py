"""Principal directions of a generator, found without labels.

- ``pca`` (models with an encoder): PCA of the posterior means of the run's training faces. Component k is a
  unit vector; one step is its standard deviation sqrt(lambda_k); walks start at the mean code.
- ``ganspace`` (Härkönen et al., 2020): draw z_i from the prior, take an intermediate generator activation
  a_i = f(z_i) (the model's ``generator_features``), PCA it: a_i - mean = sum_k x_ik v_k, with coordinate
  standard deviations sigma_k. Regress the codes on the standardised coordinates s_ik = x_ik / sigma_k: since
  those are uncorrelated with unit variance, least squares gives u_k = mean_i (z_i - mean z) s_ik, the latent
  move that goes with one standard deviation of activation component k. The direction is u_k / |u_k|, one step
  is |u_k|. For a linear layer a = W z this recovers W's right singular vectors with steps of 1 (tested).
- ``sefa`` (Shen & Zhou, 2021): closed form from the weight A of the generator's first layer (the model's
  ``first_layer_weight``): the unit directions n maximising |A n|^2 are the eigenvectors of A^T A, in order of
  their eigenvalues. One step is one prior standard deviation.

PCA of prior samples would be meaningless: the prior N(0, I) is isotropic, every direction has variance 1.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.extmath import randomized_svd

from facegen.analysis.directions.direction import Directions, orient, prior_samples
from facegen.analysis.latent import space
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.models.base import Model
from facegen.models.capabilities import Encoder, Sampler, SteerableGenerator, require
from facegen.runs import Run

PRINCIPAL = ("pca", "ganspace", "sefa")
ISOTROPIC = ("PCA of prior samples is meaningless: the prior N(0, I) is isotropic (every direction has variance 1); "
             "a run without an encoder has no posterior means to analyse: use --method ganspace or sefa")


def check_k(k: int, latent_size: int) -> None:
    if not 1 <= k <= latent_size:
        raise FacegenError(f"--k {k}: this run's latent code has {latent_size} dimensions, so it has 1 to "
                           f"{latent_size} principal directions: pick k in that range")


def ganspace_directions(z: np.ndarray, feats: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit latent directions (k, L), their steps (k,) and the activation variance share of each component
    (k,), from codes z (N, L) and their activations (N, D) (see the module docstring)."""
    n = len(z)
    a = feats - feats.mean(0)
    k = min(k, *a.shape)
    u, s, _ = randomized_svd(a, k, n_oversamples=20, n_iter=7, random_state=0)  # the top k only: D can be large
    k = int((s > s[0] * 1e-9).sum())
    coords = u[:, :k] * np.sqrt(n - 1)  # x_k / sigma_k: unit sample variance, uncorrelated
    moves = coords.T @ (z - z.mean(0)) / (n - 1)  # (k, L): least-squares regression of z on the coordinates
    steps = np.linalg.norm(moves, axis=1)
    units = orient(moves / np.where(steps > 0, steps, 1)[:, None])
    return units, steps, s[:k] ** 2 / np.square(a).sum()


def sefa_directions(weight: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-k eigenvectors (k, L) of A^T A for A = ``weight`` (D, L), and their eigenvalues (k,)."""
    values, vectors = np.linalg.eigh(weight.T @ weight)
    top = np.argsort(values)[::-1][:k]
    return orient(vectors[:, top].T), values[top]


def pca_directions(run: Run, model: Model, k: int) -> Directions:
    mu = space.encode_faces(model, run.faces()[0])[0]
    pca = space.fit_pca(mu)
    k = min(k, pca.n_components_)
    return Directions("pca", [f"pc{i}" for i in range(k)], pca.components_[:k], np.sqrt(pca.explained_variance_[:k]),
                      pca.mean_, {"variance_share": pca.explained_variance_ratio_[:k].tolist(), "n_faces": len(mu)})


def supports(model: Model, method: str) -> bool:
    """Whether ``method`` can find principal directions of this model (pca: an encoder; ganspace, sefa: a
    :class:`SteerableGenerator`)."""
    return isinstance(model, Encoder if method == "pca" else SteerableGenerator)


def available_methods(model: Model) -> list[str]:
    """The principal methods this model supports (ganspace also needs a prior to sample)."""
    return [m for m in PRINCIPAL if supports(model, m) and (m != "ganspace" or isinstance(model, Sampler))]


def ganspace(run: Run, model: Model, k: int, n_samples: int, seed: int) -> Directions:
    require(model, SteerableGenerator, "--method ganspace")
    require(model, Sampler, "--method ganspace (activations of prior samples)")
    z, y = prior_samples(run, model, n_samples, seed)
    feats = batched(model.generator_features, z, y, device=next(model.parameters()).device).double().numpy()
    units, steps, share = ganspace_directions(z.double().numpy(), feats, k)
    return Directions("ganspace", [f"gs{i}" for i in range(len(units))], units, steps, np.zeros(model.latent_size),
                      {"activation_variance_share": share.tolist(), "n_samples": n_samples,
                       "activation_size": feats.shape[1]})


def sefa(model: Model, k: int) -> Directions:
    require(model, SteerableGenerator, "--method sefa")
    units, values = sefa_directions(model.first_layer_weight().double().cpu().numpy(), k)
    return Directions("sefa", [f"sefa{i}" for i in range(len(units))], units, np.ones(len(units)),
                      np.zeros(model.latent_size),
                      {"eigenvalues": values.tolist(), "eigenvalue_share": (values / values.sum()).tolist()})


def principal_directions(run: Run, model: Model, method: str, k: int, n_samples: int = 2000,
                         seed: int = 0) -> Directions:
    """The top-k directions of ``method`` (pca, ganspace or sefa), ordered by variance or eigenvalue."""
    check_k(k, model.latent_size)
    if method == "pca":
        if not isinstance(model, Encoder):
            raise FacegenError(ISOTROPIC)
        return pca_directions(run, model, k)
    if method == "ganspace":
        return ganspace(run, model, k, n_samples, seed)
    if method == "sefa":
        return sefa(model, k)
    raise FacegenError(f"unknown principal method {method!r}: use one of {', '.join(PRINCIPAL)}")
