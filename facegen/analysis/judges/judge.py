"""What a judge is: something that did not make an image scores it, and a threshold says when the face has the
attribute. The pixel judges (:class:`facegen.analysis.judges.pixel.PixelJudge`), a run's q(y|x) and each column
of the attribute net (:class:`FunctionJudge`) are judges; :class:`facegen.analysis.judges.by_attribute.Judges`
finds them by attribute name. Identity is judged on pairs of images instead (``identity.IdentityJudge``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Judge(Protocol):
    """``score(images)``: (N,) numbers for images (N, C, H, W) in [0, 1]; above ``threshold`` the face has the
    attribute; ``what``: the judge and its score in words."""

    what: str
    threshold: float

    def score(self, images: torch.Tensor) -> np.ndarray: ...


@dataclass(frozen=True)
class FunctionJudge:
    """A judge made of a scoring function (a run's q(y|x), one column of the attribute net)."""

    what: str
    threshold: float
    score: Callable[[torch.Tensor], np.ndarray]
