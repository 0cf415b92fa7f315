"""Walks along principal directions (sample_across_pca_axis.py): each of the top directions of pca, ganspace or
sefa decoded in steps of its standard deviation, from the directions' centre or from one prior sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from tqdm import tqdm

from facegen import plots
from facegen.analysis.directions.direction import Directions
from facegen.analysis.directions.principal import principal_directions
from facegen.analysis.latent import space
from facegen.analysis.latent.explore import N_OVERVIEW, figure_name, note_unconditional, value_label, walk_values
from facegen.core.errors import FacegenError
from facegen.models.base import Model
from facegen.models.capabilities import Encoder
from facegen.runs import Run

PRINCIPAL_TITLES = {"pca": "principal axes of the posterior means",
                    "ganspace": "GANSpace: principal components of a generator activation, in latent space",
                    "sefa": "SeFa: eigenvectors of the first layer's A^T A"}


def principal_label(dirs: Directions, k: int) -> str:
    """A principal direction's name with its share of variance (pca, ganspace) or of the eigenvalues (sefa)."""
    key = {"pca": "variance_share", "ganspace": "activation_variance_share", "sefa": "eigenvalue_share"}[dirs.method]
    return f"{dirs.names[k]} ({dirs.info[key][k]:.0%})"


WALK_STARTS = ("auto", "mean", "sample")


def walk_start(model: Model, start: str) -> str:
    """``auto``: a prior sample for a model without an encoder (a GAN: its prior mean z = 0 is no typical code,
    since prior codes lie near the sphere |z| = sqrt(L), and decodes to a grey average face), else ``mean``."""
    if start not in WALK_STARTS:
        raise FacegenError(f"--start {start}: choose one of {', '.join(WALK_STARTS)}")
    return start if start != "auto" else ("mean" if isinstance(model, Encoder) else "sample")


def sample_across_pca_axis(run: Run, model: Model, *, bounds: tuple[float, float] = (-3.0, 3.0), steps: int = 10,
                           degree: float = 0.0, method: str = "pca", k: int | None = None, n_samples: int = 2000,
                           seed: int = 0, start: str = "auto", **others: float) -> list[Path]:
    """Walk each of the top ``k`` principal directions of ``method`` (pca, ganspace, sefa; all of them by default)
    in its own steps (standard deviations) from the directions' centre (``start`` mean) or from one prior sample
    drawn with ``seed`` (``start`` sample); RUN/axis/<method>_axis_K.png and an overview."""
    note_unconditional(run, "--degree")
    dirs = principal_directions(run, model, method, k or model.latent_size, n_samples, seed)
    if walk_start(model, start) == "sample":
        dirs = dataclasses.replace(dirs, center=space.prior_noise(1, model.latent_size, seed)[0].double().numpy())
    values = walk_values(*bounds, steps)
    cols = [value_label(v) for v in values]
    y = space.condition_vector(run, degree, steps, **others)
    walks, paths = [], []
    for i in tqdm(range(len(dirs)), desc="principal axes", disable=len(dirs) < 8):
        walks.append(space.decode(model, dirs.walk(i, values), y))
        paths.append(run.path / "axis" / figure_name(f"{method}_axis_{i}.png", others))
        plots.save_labelled_rows(walks[-1][None], [dirs.names[i]], paths[-1],
                                 f"{principal_label(dirs, i)}, in standard deviations", col_labels=cols)
    top = range(min(N_OVERVIEW, len(walks)))
    paths.append(run.path / "axis" / figure_name(f"{method}_overview.png", others))
    plots.save_labelled_rows(torch.stack([walks[i] for i in top]), [principal_label(dirs, i) for i in top], paths[-1],
                             f"{PRINCIPAL_TITLES[method]}, in standard deviations", col_labels=cols)
    return paths
