"""A face's smile degree from the shape of its mouth alone: ridge regression of the human degrees on the mouth
features of :func:`facegen.data.landmarks.mouth_features` (width, opening, corner lift, lip-to-nose, width over
jaw), each standardised.

It labels the editor's training faces (docs/editor.md): fitted on the study's 185 human degrees it predicts the
sign of a held-out degree 95 % of the time (10-fold, r = 0.85). It sees landmarks only, never pixels, and it
is not a judge of edits: the edits are judged by a CelebA-trained network (:mod:`facegen.analysis.judges.celeba_judge`).

Ridge closed form: w = (X^T X + alpha I)^-1 X^T (y - mean y) on standardised X, intercept mean y.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facegen.core.errors import FacegenError
from facegen.core.files import write_json

ALPHA = 1.0


@dataclass
class SmileGeometry:
    """The fitted regression: feature means and scales, weights and intercept."""

    mean: list[float]
    scale: list[float]
    weights: list[float]
    intercept: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Degrees in [-1, +1] of mouth features (N, F)."""
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        return np.clip(z @ np.asarray(self.weights) + self.intercept, -1.0, 1.0)

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> SmileGeometry:
        try:
            return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as e:
            raise FacegenError(f"cannot read the smile-geometry labeller {path} ({type(e).__name__}): run "
                               f"prepare_mouths.py again") from None


def fit(features: np.ndarray, degrees: np.ndarray, alpha: float = ALPHA) -> SmileGeometry:
    """Ridge regression of ``degrees`` (N,) on standardised ``features`` (N, F) (closed form)."""
    x = np.asarray(features, np.float64)
    y = np.asarray(degrees, np.float64)
    if len(x) < x.shape[1] + 2:
        raise FacegenError(f"only {len(x)} labelled faces with landmarks: too few to fit the smile labeller")
    mean, scale = x.mean(0), x.std(0) + 1e-12
    z = (x - mean) / scale
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    return SmileGeometry(mean.tolist(), scale.tolist(), w.tolist(), float(y.mean()))


def cross_validate(features: np.ndarray, degrees: np.ndarray, folds: int = 10, seed: int = 0) -> dict[str, float]:
    """Held-out correlation and sign agreement of :func:`fit` over ``folds`` folds."""
    order = np.random.default_rng(seed).permutation(len(degrees))
    predicted = np.empty(len(degrees))
    for part in np.array_split(order, folds):
        keep = np.setdiff1d(order, part)
        predicted[part] = fit(features[keep], degrees[keep]).predict(features[part])
    return {"correlation": float(np.corrcoef(predicted, degrees)[0, 1]),
            "sign_agreement": float(((predicted > 0) == (degrees > 0)).mean()), "folds": folds}
