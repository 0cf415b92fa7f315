"""Attribute directions in latent space: where moving a code adds an attribute, and the arithmetic around them.

- ``mean_diff``: the difference of the mean codes of faces with and without the attribute (encoded data, labels
  from the dataset); :func:`mean_difference` gives it for every attribute at once (attribute_vectors.py).
- ``svm``: the unit normal of a class-balanced linear SVM that separates those codes.
- ``interfacegan`` (Shen et al., 2020): no encoder and no labels needed. Draw n codes from the prior, decode them,
  score the faces with one of the project's judges, keep the ``share`` highest-scoring as positives and the
  ``share`` lowest as negatives (the confident ends; the ambiguous middle is left out), fit a linear SVM on 80 %
  of them and report its accuracy on the other 20 %. The boundary's unit normal n points towards the attribute;
  the judge's score rises along z + t n.
- conditional edits (all three): the direction with the span of other attributes' directions projected out
  (:func:`project_out`), so an edit leaves their linear scores unchanged; :func:`edit_codes` applies edits.

Codes are posterior means (N, L); attributes are CelebA's +1 / -1 labels (N, A). Pure NumPy / torch maths,
no files or models, so every piece is testable on synthetic codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facegen.analysis.directions.direction import Direction
from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write

VECTORS_FILE = "attribute_vectors.npz"


@dataclass
class AttributeVectors:
    """For each attribute: the mean code of faces with it and without it, and how many faces each mean has.
    An attribute no face has (or every face has) gets NaN means and a count of 0."""

    names: list[str]
    mean_with: np.ndarray  # (A, L)
    mean_without: np.ndarray  # (A, L)
    n_with: np.ndarray  # (A,)
    n_without: np.ndarray  # (A,)

    @property
    def vectors(self) -> np.ndarray:
        """mean_with - mean_without (A, L): added to a code, it adds the attribute."""
        return self.mean_with - self.mean_without

    def vector(self, name: str) -> torch.Tensor:
        """The vector of one attribute, or a one-line error when it cannot be computed."""
        i = self.names.index(name)
        if self.n_with[i] == 0 or self.n_without[i] == 0:
            which = "has" if self.n_with[i] == 0 else "lacks"
            raise FacegenError(f"no face {which} the attribute {name} ({self.n_with[i]} with, {self.n_without[i]} "
                               f"without), so it has no attribute vector: use more faces or another attribute")
        return torch.from_numpy(self.vectors[i]).float()


def mean_difference(codes: torch.Tensor, attrs: torch.Tensor, names: list[str]) -> AttributeVectors:
    """Per attribute, the mean code of the faces with it (+1) and without it (-1)."""
    z = codes.double().numpy()
    has = attrs.numpy() > 0
    n_with, n_without = has.sum(0), (~has).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_with = (has.T.astype(float) @ z) / n_with[:, None]
        mean_without = ((~has).T.astype(float) @ z) / n_without[:, None]
    return AttributeVectors(list(names), mean_with, mean_without, n_with, n_without)


def save_vectors(path: Path, vecs: AttributeVectors, groups: dict[str, AttributeVectors] | None = None,
                 by: str = "") -> None:
    """One .npz: names, mean_with, mean_without, vectors (A, L), n_with, n_without (A,); with ``groups``
    (computed within each value of the attribute ``by``) the same arrays stacked per group under ``by_*``."""
    arrays = {"names": np.array(vecs.names), "mean_with": vecs.mean_with, "mean_without": vecs.mean_without,
              "vectors": vecs.vectors, "n_with": vecs.n_with, "n_without": vecs.n_without}
    if groups:
        arrays.update(by=np.array(by), by_groups=np.array(list(groups)))
        for key in ("mean_with", "mean_without", "vectors", "n_with", "n_without"):
            arrays[f"by_{key}"] = np.stack([getattr(g, key) for g in groups.values()])
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")


def load_vectors(path: Path) -> AttributeVectors:
    """The overall vectors saved by :func:`save_vectors`."""
    if not path.is_file():
        raise FacegenError(f"{path} not found: run attribute_vectors.py --run RUN first")
    with np.load(path) as f:
        return AttributeVectors([str(n) for n in f["names"]], f["mean_with"], f["mean_without"], f["n_with"],
                                f["n_without"])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (NaN when either is zero or undefined)."""
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else float("nan")


def check_both_classes(labels: np.ndarray, name: str) -> None:
    n_pos = int((labels > 0).sum())
    if n_pos == 0 or n_pos == len(labels):
        which = "has" if n_pos == 0 else "lacks"
        raise FacegenError(f"no face {which} the attribute {name} ({n_pos} of {len(labels)} faces have it): "
                           f"a direction needs faces with and without it; use more faces or another attribute")


def mean_difference_direction(codes: torch.Tensor, labels: torch.Tensor, name: str) -> Direction:
    """mean(codes | label > 0) - mean(codes | label <= 0) (:func:`mean_difference`), as a unit normal and its
    length, the step; not scored."""
    check_both_classes(labels.numpy(), name)
    diff = mean_difference(codes, labels[:, None], [name]).vectors[0]
    length = float(np.linalg.norm(diff))
    if length == 0:
        raise FacegenError(f"the faces with and without {name} have the same mean code: no direction to follow")
    return Direction(name, diff / length, length, n_train=len(labels))


def svm_direction(codes: torch.Tensor, labels: torch.Tensor, name: str, seed: int = 0,
                  test_fraction: float = 0.2) -> Direction:
    """Fit a linear SVM (class-balanced) on a stratified share of the codes, score it on the rest, and return the
    unit normal of its boundary; the step is the distance between the two classes' mean codes."""
    from sklearn.model_selection import train_test_split  # scikit-learn only where it is used
    from sklearn.svm import LinearSVC

    z, y = codes.double().numpy(), (labels.numpy() > 0).astype(int)
    check_both_classes(labels.numpy(), name)
    stratify = y if min(y.sum(), len(y) - y.sum()) >= 2 else None
    z_tr, z_te, y_tr, y_te = train_test_split(z, y, test_size=test_fraction, random_state=seed, stratify=stratify)
    if len(set(y_tr)) < 2:
        z_tr, y_tr = z, y
    svm = LinearSVC(C=1.0, class_weight="balanced", max_iter=20000, random_state=seed).fit(z_tr, y_tr)
    pred = svm.predict(z_te)
    per_class = [np.mean(pred[y_te == c] == c) for c in (0, 1) if (y_te == c).any()]
    w = svm.coef_[0]
    step = float(np.linalg.norm(mean_difference(codes, labels[:, None], [name]).vectors[0]))
    return Direction(name, w / np.linalg.norm(w), step, float(np.mean(pred == y_te)), float(np.mean(per_class)),
                     len(y_tr), len(y_te))


def interfacegan_direction(codes: torch.Tensor, scores: np.ndarray, name: str, share: float, seed: int,
                           test_fraction: float = 0.2) -> Direction:
    """The SVM boundary between the ``share`` highest- and the ``share`` lowest-scored codes (see the module
    docstring); the step is the distance between those two groups' mean codes along the normal."""
    from sklearn.model_selection import train_test_split  # scikit-learn only where it is used
    from sklearn.svm import LinearSVC

    if not 0 < share <= 0.5:
        raise FacegenError(f"--share {share:g}: give the confident share at each end, above 0 and at most 0.5")
    n = len(scores)
    m = int(share * n)
    if m < 5:
        raise FacegenError(f"--share {share:g} of {n} samples leaves {m} faces at each end: draw more --samples "
                           f"or raise --share (at least 5 per end)")
    order = np.argsort(scores, kind="stable")
    if scores[order[-m]] <= scores[order[m - 1]]:
        raise FacegenError(f"the judge of {name} gives the top and bottom {share:.0%} of the samples the same "
                           f"score: nothing to separate; use another attribute")
    pos, neg = order[-m:], order[:m]
    z = codes.double().numpy()
    x = np.concatenate([z[pos], z[neg]])
    y = np.concatenate([np.ones(m, dtype=int), np.zeros(m, dtype=int)])
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    svm = LinearSVC(C=1.0, max_iter=20000, random_state=seed).fit(x_tr, y_tr)
    w = svm.coef_[0]
    normal = w / np.linalg.norm(w)
    step = float((z[pos].mean(0) - z[neg].mean(0)) @ normal)
    pred = svm.predict(x_te)
    balanced = float(np.mean([np.mean(pred[y_te == c] == c) for c in (0, 1)]))
    return Direction(name, normal, step, float(np.mean(pred == y_te)), balanced, len(y_tr), len(y_te))


def project_out(direction: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """``direction`` with its components along the span of ``others`` removed, renormalised to unit length
    (InterFaceGAN's conditional manipulation): moving along it leaves every linear score of ``others`` fixed."""
    if not others:
        return direction / np.linalg.norm(direction)
    basis, _ = np.linalg.qr(np.stack(others).T)  # orthonormal basis (L, k) of the conditioning directions
    rest = direction - basis @ (basis.T @ direction)
    norm = np.linalg.norm(rest)
    if norm < 1e-6 * np.linalg.norm(direction):
        raise FacegenError("the edit direction lies in the span of the conditioning directions: nothing is left "
                           "after projecting them out; condition on fewer attributes")
    return rest / norm


def edit_codes(z: torch.Tensor, direction: torch.Tensor, amounts: list[float]) -> torch.Tensor:
    """(N, K, L): every code plus each multiple of ``direction``."""
    steps = torch.tensor(amounts, dtype=z.dtype)[None, :, None]
    return z[:, None, :] + steps * direction.to(z.dtype)[None, None, :]
