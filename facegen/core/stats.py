"""Distances between sets of vectors, one definition each, used by the GANs' training diagnostics and by analysis.

- Mean pairwise distance of rows x_1..x_n (each flattened): sum_{i != j} ||x_i - x_j|| / (n (n - 1)), the mean
  Euclidean distance over ordered pairs of different rows (0 when the rows are all equal).
- Fréchet distance (Heusel et al. 2017's formula, on any features) between Gaussians fitted to two sets, with
  means m_a, m_b and sample covariances S_a, S_b (divided by n - 1, as FID implementations do):
  ||m_a - m_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2).
Both take a tensor or a NumPy array; a NumPy or integer input is computed in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from facegen.core.errors import FacegenError


def _floating(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x if x.is_floating_point() else x.double()


def mean_pairwise_distance(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The mean Euclidean distance between different rows of x (each flattened), as a 0-d tensor in x's dtype on
    x's device; NaN when there is no pair (fewer than 2 rows: a GAN's last validation batch may hold one face);
    no gradient flows through it."""
    flat = _floating(x).detach()
    n = len(flat)
    if n < 2:
        return flat.new_tensor(float("nan"))
    flat = flat.reshape(n, -1)
    return torch.cdist(flat, flat).sum() / (n * (n - 1))


def _mean_covariance(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = x.mean(0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def _psd_sqrt(m: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = torch.linalg.eigh((m + m.T) / 2)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to feature sets a (N, D) and b (M, D), N, M >= 2, in float64.
    tr((S_a S_b)^1/2) is computed as tr((S_a^1/2 S_b S_a^1/2)^1/2), the square root of a symmetric matrix."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    if len(a) < 2 or len(b) < 2:
        raise FacegenError(f"a Fréchet distance needs at least 2 faces on each side, got {len(a)} and {len(b)}")
    mean_a, cov_a = _mean_covariance(a)
    mean_b, cov_b = _mean_covariance(b)
    root_a = _psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)
