"""The one registry of smile editing methods, shared by the photo pipeline (editing/photo.py: edit_photo.py, the
demo) and the identity study (evaluation/edit_identity.py: compare_edits.py), and the face's own smile degree
that every method starts from.

A method is where the code comes from and how the edit reaches the photo, named "<code> <applied>" ("plain"
when both are the first):
- code: ``""`` the encoder's posterior mean; ``"inverted"`` the photo's MAP code (per-photo inversion,
  editing/inversion.py); ``"pivotal"`` that code with a decoder copy tuned on the photo (pivotal tuning);
- applied: ``""`` the decoded face itself; ``"residual"`` the photo plus the model's masked change;
  ``"replace"`` the model's edited face where that change is (editing/residual.py).
A photo is only ever edited by a residual or a replacement (:data:`PHOTO_METHODS`): the plain decoded face loses
everything the model cannot draw.
"""

from __future__ import annotations

import torch

from facegen.analysis.judges.judge import Judge
from facegen.analysis.latent import smile_head
from facegen.core.errors import FacegenError
from facegen.models.base import Model
from facegen.models.capabilities import SmilePredictor

CODES = ("", "inverted", "pivotal")
APPLIED = ("", "residual", "replace")


def method_name(code: str, applied: str) -> str:
    """``"inverted residual"``, ``"replace"``, ``"plain"`` (the encoder's code decoded), ..."""
    return " ".join(part for part in (code, applied) if part) or "plain"


METHODS = tuple(method_name(code, applied) for code in CODES for applied in APPLIED)
PHOTO_METHODS = tuple(method_name(code, applied) for code in CODES for applied in APPLIED if applied)


def method_parts(name: str, offered: tuple[str, ...] = METHODS) -> tuple[str, str]:
    """(code, applied) of the method ``name``, or a one-line error listing the methods ``offered``."""
    if name not in offered:
        raise FacegenError(f"--method {name}: choose one of {', '.join(offered)}")
    return next((code, applied) for code in CODES for applied in APPLIED if method_name(code, applied) == name)


def own_degree(model: Model, judge: Judge | None, images: torch.Tensor) -> torch.Tensor:
    """Each face's own smile degree (N,): the model's q(y|x) when it predicts its condition (a semi-supervised
    run), else ``judge``'s score (the run's smile regressor)."""
    if isinstance(model, SmilePredictor):
        return smile_head.predict(model, images)
    if judge is None:
        raise ValueError("a model without q(y|x) needs a smile judge to read a face's own degree")
    return torch.from_numpy(judge.score(images)).float()
