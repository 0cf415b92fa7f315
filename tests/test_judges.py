"""The one Judge protocol (facegen/analysis/judges/judge.py): the pixel judges and function judges are judges, and
a pixel judge's score of images is its linear score of their features, clipped (smile degree) or through the
logistic function (P(female)), compared with the threshold that says the face has the attribute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facegen.analysis.judges import pixel
from facegen.analysis.judges.judge import FunctionJudge, Judge


def linear_judge(kind: str, seed: int = 0) -> pixel.PixelJudge:
    rng = np.random.default_rng(seed)
    n = pixel.FEATURE_SIZE ** 2
    return pixel.PixelJudge(kind, rng.normal(0.5, 0.1, n), rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), 0.2, {})


@pytest.mark.parametrize("kind, threshold", [("ridge", 0.0), ("logistic", 0.5)])
def test_a_pixel_judge_scores_images_through_its_linear_score(kind, threshold):
    judge = linear_judge(kind)
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    linear = ((pixel.features(images) - judge.mean) / judge.scale) @ judge.coef + judge.intercept
    assert np.abs(linear).max() > 1  # so that the clipping of a degree is exercised
    want = np.clip(linear, -1, 1) if kind == "ridge" else 1 / (1 + np.exp(-linear))
    np.testing.assert_allclose(judge.score(images), want, rtol=0, atol=1e-12)
    assert judge.threshold == threshold and isinstance(judge, Judge)
    assert judge.what == ("the smile regressor (degree)" if kind == "ridge" else "the gender classifier (P(female))")


def test_a_function_judge_is_a_judge():
    judge = FunctionJudge("the mean grey level", 0.5, lambda x: x.mean((1, 2, 3)).double().numpy())
    assert isinstance(judge, Judge)
    np.testing.assert_allclose(judge.score(torch.full((2, 3, 4, 4), 0.25)), [0.25, 0.25])
    assert not isinstance(object(), Judge)
