"""Attribute directions in latent space: where moving a code adds an attribute.

- ``mean_diff``: the difference of the mean codes of faces with and without the attribute (encoded data, labels
  from the dataset).
- ``svm``: the unit normal of a linear SVM that separates those codes.
- ``interfacegan`` (Shen et al., 2020): no encoder and no labels needed. Draw n codes from the prior, decode them,
  score the faces with one of the project's judges, keep the ``share`` highest-scoring as positives and the
  ``share`` lowest as negatives (the confident ends; the ambiguous middle is left out), fit a linear SVM on 80 %
  of them and report its accuracy on the other 20 %. The boundary's unit normal n points towards the attribute;
  the judge's score rises along z + t n.
- conditional edits (all three): the direction with the span of other attributes' directions projected out
  (:func:`facegen.analysis.directions.attribute.project_out`), so an edit leaves their linear scores unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from facegen.analysis.directions.attribute import check_both_classes, svm_direction
from facegen.core.errors import FacegenError


@dataclass
class Boundary:
    """A unit direction towards an attribute, the length of one step along it, and how well it separates."""

    attribute: str
    normal: np.ndarray  # (L,) unit
    step: float  # latent distance between the two groups' mean codes
    accuracy: float  # held-out (nan for mean_diff)
    balanced_accuracy: float  # mean of the held-out accuracies on each class
    n_train: int
    n_test: int


def mean_difference_boundary(codes: torch.Tensor, labels: torch.Tensor, name: str) -> Boundary:
    """mean(codes | label > 0) - mean(codes | label <= 0), as a unit direction and its length."""
    check_both_classes(labels.numpy(), name)
    has = labels > 0
    diff = (codes[has].double().mean(0) - codes[~has].double().mean(0)).numpy()
    length = float(np.linalg.norm(diff))
    if length == 0:
        raise FacegenError(f"the faces with and without {name} have the same mean code: no direction to follow")
    return Boundary(name, diff / length, length, float("nan"), float("nan"), len(labels), 0)


def svm_boundary(codes: torch.Tensor, labels: torch.Tensor, name: str, seed: int) -> Boundary:
    """A class-balanced linear SVM's unit normal; the step is the distance between the two classes' mean codes."""
    d = svm_direction(codes, labels, name, seed)
    has = labels > 0
    step = float((codes[has].double().mean(0) - codes[~has].double().mean(0)).norm())
    return Boundary(name, d.normal, step, d.accuracy, d.balanced_accuracy, d.n_train, d.n_test)


def interfacegan_boundary(codes: torch.Tensor, scores: np.ndarray, name: str, share: float, seed: int,
                          test_fraction: float = 0.2) -> Boundary:
    """The SVM boundary between the ``share`` highest- and the ``share`` lowest-scored codes (see the module
    docstring); the step is the distance between those two groups' mean codes along the normal."""
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
    return Boundary(name, normal, step, float(np.mean(pred == y_te)), balanced, len(y_tr), len(y_te))
