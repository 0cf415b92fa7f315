"""Directions in a run's latent space: one :class:`Direction` an attribute method finds (mean_diff, svm,
interfacegan), the :class:`Directions` every steering method returns (unit vectors, each with its natural step),
and the codes they are found on and applied to (prior samples, with conditions drawn from the run's faces).

A walk along direction k by v steps is ``center + v * scales[k] * vectors[k]``; an edit of a face's code z by a
distance t (in latent units: for the N(0, I) prior one unit is one standard deviation along any direction) is
``z + t * vectors[k]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from facegen.analysis.latent import space
from facegen.core.errors import FacegenError
from facegen.models.base import Model
from facegen.runs import Run


@dataclass
class Direction:
    """One direction towards an attribute: the unit ``normal`` (L,) pointing towards it, the latent ``step`` between
    the codes with and without it, and how well it separates them on held-out codes (NaN and no held-out codes for
    mean_diff, which is not scored)."""

    attribute: str
    normal: np.ndarray
    step: float
    accuracy: float = float("nan")
    balanced_accuracy: float = float("nan")  # mean of the held-out accuracies on each class
    n_train: int = 0
    n_test: int = 0


@dataclass
class Directions:
    """K unit directions (K, L) of one method, their step lengths (K,) and the code walks start from (L,).

    scales: latent distance of one step: one standard deviation of the component (pca, ganspace), one prior
    standard deviation (sefa), or the distance between the mean codes with and without an attribute
    (mean_diff, svm, interfacegan). info: what the method measured on the way (accuracy, variance shares)."""

    method: str
    names: list[str]
    vectors: np.ndarray
    scales: np.ndarray
    center: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vectors = np.atleast_2d(np.asarray(self.vectors, dtype=np.float64))
        self.scales = np.asarray(self.scales, dtype=np.float64).reshape(-1)
        self.center = np.asarray(self.center, dtype=np.float64).reshape(-1)
        norms = np.linalg.norm(self.vectors, axis=1)
        if not np.allclose(norms, 1, atol=1e-6):
            raise ValueError(f"directions must have unit length, got norms {norms}")
        if not len(self.names) == len(self.vectors) == len(self.scales):
            raise ValueError("one name and one scale per direction")

    def __len__(self) -> int:
        return len(self.vectors)

    def index(self, name: str) -> int:
        if name not in self.names:
            raise FacegenError(f"no direction {name!r} among {', '.join(self.names)}")
        return self.names.index(name)

    def vector(self, k: int) -> torch.Tensor:
        """Direction k times its step, as a float tensor (L,)."""
        return torch.from_numpy(self.vectors[k] * self.scales[k]).float()

    def walk(self, k: int, values: list[float]) -> torch.Tensor:
        """Codes (S, L): the center moved ``values`` steps along direction k."""
        v = np.asarray(values, dtype=np.float64)[:, None]
        return torch.from_numpy(self.center[None] + v * self.scales[k] * self.vectors[k][None]).float()


def orient(vectors: np.ndarray) -> np.ndarray:
    """Each row's sign fixed so that its largest-magnitude entry is positive (eigenvectors have no sign)."""
    rows = np.atleast_2d(vectors)
    signs = np.sign(rows[np.arange(len(rows)), np.abs(rows).argmax(1)])
    return rows * np.where(signs == 0, 1, signs)[:, None]


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosines between all pairs of rows (K, K)."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit @ unit.T


def sample_conditions(run: Run, n: int, seed: int) -> torch.Tensor:
    """Conditions (n, K) for prior samples of a conditional run: rows of its training faces (labelled ones when
    there are any) drawn with replacement, so samples follow the data's mix of smiles, genders and ages."""
    if not run.cond_names:
        return torch.zeros(n, 0)
    train = run.faces()[0]
    pool = train.cond[train.labelled] if train.labelled.any() else train.cond
    pick = torch.randint(len(pool), (n,), generator=torch.Generator().manual_seed(seed))
    return pool[pick][:, :len(run.cond_names)].float().clone()


def prior_samples(run: Run, model: Model, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n codes from the N(0, I) prior and conditions for them (see :func:`sample_conditions`)."""
    if n < 2:
        raise FacegenError(f"--samples {n}: need at least 2 prior samples")
    return space.prior_noise(n, model.latent_size, seed), sample_conditions(run, n, seed + 1)
