"""Residual editing (closed forms) and the identity numbers of evaluate.py and compare_edits.py on toy runs."""

from __future__ import annotations

import json

import pytest
import torch

from facegen.analysis.editing.residual import change_mask, masked_replace, residual_edit
from facegen.analysis.evaluation.edit_identity import identity_kept, outputs, unseen_faces
from facegen.analysis.judges.identity import load_judge
from facegen.core.errors import FacegenError
from facegen.runs import Run
from tests.helpers import written


# ---- residual editing ---------------------------------------------------------------------------------------
def test_no_change_leaves_the_photo_and_a_uniform_change_is_added_whole():
    photo = torch.rand(2, 3, 48, 48) * 0.5 + 0.2
    before = torch.rand(2, 3, 16, 16)
    assert torch.equal(residual_edit(photo, before, before.clone()), photo)
    shifted = residual_edit(photo, before, before + 0.1)  # the same change everywhere: m = its quantile, M = 1
    assert torch.allclose(shifted, photo + 0.1, atol=1e-6)


def test_mask_is_the_change_over_its_quantile_without_smoothing():
    delta = torch.zeros(1, 1, 10, 10)
    delta[0, 0, 0, :5] = torch.tensor([0.1, 0.2, 0.4, 0.8, 1.0])
    m = change_mask(delta, sigma=0, quantile=0.99)
    q = torch.quantile(delta.abs().flatten(), 0.99)
    assert torch.allclose(m, (delta.abs() / q).clamp(max=1))
    assert m.max() == 1 and m[0, 0, 1:].abs().sum() == 0


def test_a_local_change_leaves_the_photo_unchanged_far_from_it():
    photo = torch.rand(1, 3, 64, 64)
    before = torch.rand(1, 3, 16, 16)
    after = before.clone()
    after[..., 10:13, 6:10] += 0.3  # a "mouth" change at model scale
    edited = residual_edit(photo, before, after, sigma=1.0)
    diff = (edited - photo).abs().sum(1)[0]
    changed = torch.nonzero(diff > 0)
    # the blur reaches 3 model pixels, bilinear upsampling one more: (3 + 1) * 4 photo pixels around the box
    rows, cols = changed[:, 0], changed[:, 1]
    assert rows.min() >= (10 - 4) * 4 and rows.max() < (13 + 4) * 4
    assert cols.min() >= (6 - 4) * 4 and cols.max() < (10 + 4) * 4
    assert diff[44:52, 24:40].sum() > 0


def test_masked_replace_takes_the_model_face_where_it_changes_and_the_photo_elsewhere():
    photo = torch.rand(1, 3, 16, 16)
    before = torch.zeros(1, 3, 16, 16)
    after = before.clone()
    after[..., 4:8, 4:8] = 0.6
    out = masked_replace(photo, before, after, sigma=0, quantile=0.9)
    assert torch.allclose(out[..., 4:8, 4:8], after[..., 4:8, 4:8])  # the whole change: M = 1
    assert torch.equal(out[..., 10:, :], photo[..., 10:, :])  # no change: M = 0
    assert torch.equal(masked_replace(photo, before, before), photo)


def test_a_grey_change_applies_to_every_colour_channel():
    photo = torch.full((1, 3, 8, 8), 0.5)
    edited = residual_edit(photo, torch.zeros(1, 1, 8, 8), torch.full((1, 1, 8, 8), 0.2))
    assert torch.allclose(edited, torch.full((1, 3, 8, 8), 0.7))


# ---- on toy runs ----------------------------------------------------------------------------------------------
def test_identity_numbers_of_a_cvae_run(tiny_run, toy_identity):
    run = Run.load(tiny_run)
    model = run.load_model()
    _, val = run.faces()
    faces = val.subset(torch.arange(6))
    judge = load_judge(toy_identity)
    numbers = identity_kept(model, run, judge, faces)
    assert set(numbers) >= {"reconstruction", "plain -1", "plain +1", "threshold", "framing_box"}
    x = faces.images.float() / 255
    out = outputs(model, run, x, faces.cond)
    box = tuple(numbers["framing_box"])
    for key in ("reconstruction", "plain -1", "plain +1"):  # each output against its own original face
        d = 1 - (judge.embeddings(x, box) * judge.embeddings(out[key], box)).sum(1)
        assert numbers[key]["mean_distance"] == pytest.approx(float(d.mean()), abs=1e-5), key
        assert numbers[key]["share_same"] == float((d <= judge.threshold).float().mean()), key
    assert set(out) == {"reconstruction", "plain -1", "plain +1", "residual -1", "residual +1", "replace -1",
                        "replace +1"}
    assert out["residual +1"].shape == x.shape
    before = [t.clone() for t in model.parameters()]
    out = outputs(model, run, x, faces.cond, inversion_steps=20, pivotal_steps=10)
    for prefix in ("inverted", "pivotal"):
        assert {f"{prefix} reconstruction", f"{prefix} -1", f"{prefix} +1", f"{prefix} residual -1",
                f"{prefix} residual +1"} <= set(out)
        assert out[f"{prefix} residual +1"].shape == x.shape
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # the run is untouched

    def error(name: str) -> float:
        return float((out[name] - x).square().mean())
    assert error("pivotal reconstruction") < error("inverted reconstruction") < error("reconstruction")


def test_evaluate_and_compare_edits_report_identity(tiny_run, toy_identity, capsys):
    import compare_edits
    import evaluate

    evaluate.main(["--run", str(tiny_run), "--identity", str(toy_identity)])
    assert "identity kept" in capsys.readouterr().out
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["identity"]["n_faces"] > 0
    compare_edits.main(["--run", str(tiny_run), "--identity", str(toy_identity), "--unseen", "0",
                        "--inversion_steps", "3", "--pivotal_steps", "2"])
    text = capsys.readouterr().out
    for row in ("| residual |", "| plain |", "| inverted reconstruction |", "| pivotal residual |"):
        assert row in text, row
    written(tiny_run / "identity", "editing_validation_pivotal_residual.png", "editing_validation.png")
    result = json.loads((tiny_run / "identity" / "editing.json").read_text())
    row = result["sets"]["validation"]["residual"]
    n = result["sets"]["validation"]["n_faces"]
    for share in (row["smile_flip_rate"], row["identity_kept_both"]):  # counts of faces over n, not mean scores
        assert 0 <= share <= 1 and share * n == pytest.approx(round(share * n), abs=1e-6)


def test_unseen_faces_are_refused_when_the_run_saw_them_all(tiny_run):
    with pytest.raises(FacegenError, match="none it never saw"):
        unseen_faces(Run.load(tiny_run), 5)
