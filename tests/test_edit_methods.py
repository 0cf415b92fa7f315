"""The one registry of editing methods (facegen/analysis/editing/methods.py): the names the study and the photo
pipeline share, each name's code and application, the face's own degree every method starts from, and the photo
pipeline following the registry (an inverted code reconstructs the crop better than the encoder's)."""

from __future__ import annotations

import pytest
import torch

from facegen.analysis.editing import methods
from facegen.analysis.editing.methods import METHODS, PHOTO_METHODS, method_parts, own_degree
from facegen.analysis.editing.photo import edit_crop
from facegen.analysis.judges.judge import FunctionJudge
from facegen.analysis.latent import space
from facegen.core.errors import FacegenError
from facegen.runs import Run


def test_the_registry_names_every_code_with_every_application():
    assert METHODS == ("plain", "residual", "replace", "inverted", "inverted residual", "inverted replace",
                       "pivotal", "pivotal residual", "pivotal replace")
    assert PHOTO_METHODS == tuple(m for m in METHODS if m.endswith(("residual", "replace")))
    assert [method_parts(m) for m in ("plain", "replace", "inverted", "pivotal residual")] == [
        ("", ""), ("", "replace"), ("inverted", ""), ("pivotal", "residual")]
    with pytest.raises(FacegenError, match="--method plain: choose one of residual, replace, inverted residual"):
        method_parts("plain", PHOTO_METHODS)


class SmileHeadModel:
    """Stands in for a semi-supervised run: a SmilePredictor (smile_head.predict is replaced below)."""

    def predict_smile(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("own_degree reads q(y|x) through smile_head.predict")


def test_own_degree_is_the_models_q_when_it_has_one_else_the_judges(monkeypatch):
    images = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    judge = FunctionJudge("mean grey", 0.0, lambda x: x.mean((1, 2, 3)).double().numpy())
    monkeypatch.setattr(methods.smile_head, "predict", lambda model, x: torch.full((len(x),), -0.5))
    assert torch.equal(own_degree(SmileHeadModel(), judge, images), torch.full((3,), -0.5))

    class NoHead:
        """A run without q(y|x)."""

    got = own_degree(NoHead(), judge, images)
    assert got.dtype == torch.float32 and torch.allclose(got, images.mean((1, 2, 3)))


def test_the_photo_pipeline_inverts_the_code_for_an_inverted_method(tiny_run):
    run = Run.load(tiny_run)
    model = run.load_model()
    crop = run.faces()[1].images[:1].float() / 255
    y = space.condition_vector(run, 0.0, 1)
    error = {m: float((edit_crop(model, run, crop, y, [1.0], m)[0] - crop).square().mean())
             for m in ("residual", "inverted residual")}
    assert error["inverted residual"] < 0.97 * error["residual"]  # the crop's MAP code draws it better (-9 %)
    with pytest.raises(FacegenError, match="--method plain"):
        edit_crop(model, run, crop, y, [1.0], "plain")
