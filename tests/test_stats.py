"""The one definition of each distance (facegen/core/stats.py) against brute force and closed forms: the mean
pairwise distance against a loop over every ordered pair, the Fréchet distance against scipy's matrix square root
of S_a S_b with NumPy's sample covariances, and both on constructed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

from facegen.core.errors import FacegenError
from facegen.core.stats import frechet_distance, mean_pairwise_distance


def brute_mean_pairwise(x: np.ndarray) -> float:
    rows = x.reshape(len(x), -1).astype(np.float64)
    pairs = [np.sqrt(((rows[i] - rows[j]) ** 2).sum()) for i, j in itertools.permutations(range(len(rows)), 2)]
    return sum(pairs) / len(pairs)


def brute_frechet(a: np.ndarray, b: np.ndarray) -> float:
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    cross = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * cross))


def test_mean_pairwise_distance_is_the_mean_over_every_ordered_pair_of_different_rows():
    rng = np.random.default_rng(0)
    for shape in [(2, 3), (7, 5), (5, 3, 4, 4)]:  # image batches are flattened per row
        x = rng.normal(size=shape)
        assert float(mean_pairwise_distance(x)) == pytest.approx(brute_mean_pairwise(x), rel=1e-12)
    assert float(mean_pairwise_distance(np.array([[0, 0], [3, 4], [0, 0]]))) == pytest.approx((5 + 5 + 0) / 3)
    assert float(mean_pairwise_distance(torch.full((4, 3, 2, 2), 0.7))) == pytest.approx(0, abs=1e-6)


def test_mean_pairwise_distance_keeps_the_dtype_detaches_and_is_nan_without_a_pair():
    x = torch.randn(6, 3, 4, 4, requires_grad=True)
    got = mean_pairwise_distance(x)
    assert got.dtype == torch.float32 and got.ndim == 0 and not got.requires_grad
    assert float(got) == pytest.approx(brute_mean_pairwise(x.detach().numpy()), rel=1e-5)
    assert mean_pairwise_distance(np.ones((3, 2), dtype=np.int64)).dtype == torch.float64
    assert torch.isnan(mean_pairwise_distance(torch.zeros(1, 5)))  # one face: no pair, as 0 / 0 always gave


def test_frechet_distance_matches_scipy_with_sample_covariances():
    rng = np.random.default_rng(2)
    for _ in range(3):
        a = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
        b = rng.normal(size=(150, 4)) @ rng.normal(size=(4, 4)) + rng.normal(size=4)
        brute = brute_frechet(a, b)
        assert frechet_distance(a, b) == pytest.approx(brute, rel=1e-6)  # scipy's sqrtm of a non-symmetric product
        assert frechet_distance(b, a) == pytest.approx(brute, rel=1e-6)
        assert frechet_distance(torch.tensor(a).float(), b) == pytest.approx(brute, rel=1e-4)  # tensors alike


def test_frechet_distance_closed_forms():
    signs = np.array([[i >> k & 1 for k in range(3)] for i in range(8)], float) * 2 - 1
    a = np.repeat(signs, 5, axis=0)  # mean 0, sample covariance 40/39 I
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(a, a + [1.0, -2.0, 0.5]) == pytest.approx(1 + 4 + 0.25)  # same covariance: ||shift||^2
    # diagonal covariances: ||m_a - m_b||^2 + sum (s_a - s_b)^2, s the sample standard deviations
    scale = 40 / 39
    assert frechet_distance(a, a * [2.0, 1.0, 3.0] + [0.0, 1.0, 0.0]) == pytest.approx(1 + scale * (1 + 4))
    x, y = np.random.default_rng(3).normal(size=(2, 90, 1))
    y = 3 * y + 2
    assert frechet_distance(x, y) == pytest.approx((x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2)
    with pytest.raises(FacegenError, match="at least 2 faces"):
        frechet_distance(a[:1], a)
