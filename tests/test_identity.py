"""The identity embedding: CosFace maths, thresholds and 10-fold pairs, person classes, framing, the model and
its scripts on toy people (real LFW when present)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facegen.analysis.judges.identity import (
    IdentityJudge,
    accuracy_at,
    best_threshold,
    blurred,
    down_up,
    load_judge,
    ten_fold,
    verification_pairs,
)
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.data.framing import FULL, crop_box, fit_box
from facegen.data.lfw import person_classes
from facegen.data.needs import DataNeeds, Targets
from facegen.data.split import split_groups
from facegen.losses.margin import cosface_logits, cosface_loss, cosine_logits
from facegen.models.classifier.identity import jittered
from facegen.nn.identity import IdentityNet, cosine_distance, stage_size
from facegen.runs import Run
from tests.fakes import train_toy_identity
from tests.helpers import SHARED_DATA, written


# ---- CosFace ------------------------------------------------------------------------------------------------
def test_cosface_loss_matches_the_formula_written_out():
    g = torch.Generator().manual_seed(0)
    e, w = torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g)
    y = torch.tensor([0, 3, 6, 3, 1])
    s, m = 10.0, 0.3
    loss, acc = cosface_loss(e, w, y, s, m)
    expected = []
    for i in range(5):
        cos = [float(e[i] @ w[j] / (e[i].norm() * w[j].norm())) for j in range(7)]
        top = np.exp(s * (cos[y[i]] - m))
        rest = sum(np.exp(s * cos[j]) for j in range(7) if j != y[i])
        expected.append(-np.log(top / (top + rest)))
    assert loss.item() == pytest.approx(np.mean(expected), rel=1e-5)
    cos = cosine_logits(e, w)
    assert acc.item() == pytest.approx((cos.argmax(1) == y).float().mean().item())


def test_zero_margin_is_the_normalised_softmax_and_a_margin_costs():
    g = torch.Generator().manual_seed(1)
    cos = torch.rand(6, 9, generator=g) * 2 - 1
    y = torch.randint(0, 9, (6,), generator=g)
    assert torch.allclose(cosface_logits(cos, y, 20.0, 0.0), 20 * cos)
    with_margin = F.cross_entropy(cosface_logits(cos, y, 20.0, 0.35), y, reduction="none")
    without = F.cross_entropy(cosface_logits(cos, y, 20.0, 0.0), y, reduction="none")
    assert (with_margin > without).all()
    assert torch.equal(cosface_logits(cos, y, 20.0, 0.35) - 20 * cos != 0, F.one_hot(y, 9).bool())


# ---- thresholds and pairs -----------------------------------------------------------------------------------
def test_best_threshold_is_as_good_as_any_threshold():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 40))
        d = np.round(rng.random(n), 1)  # ties on purpose
        same = rng.random(n) < 0.5
        t = best_threshold(d, same)
        candidates = np.concatenate([[-1.0], d, [2.0]])
        assert accuracy_at(d, same, t) == pytest.approx(max(accuracy_at(d, same, c) for c in candidates))


def test_separable_pairs_give_full_accuracy_and_a_threshold_between():
    d = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9] * 10)
    same = np.array([1, 1, 1, 0, 0, 0] * 10, dtype=bool)
    fold = np.repeat(np.arange(10), 6)
    r = ten_fold(d, same, fold)
    assert r["accuracy_mean"] == 1.0 and r["accuracy_sd"] == 0.0
    assert 0.3 < r["threshold"] < 0.7 and len(r["fold_accuracy"]) == 10


def test_pairs_are_balanced_per_fold_and_folds_share_nobody():
    rng = np.random.default_rng(0)
    person = rng.integers(0, 60, 400)
    pairs = verification_pairs(person, per_fold=30, per_person=3, seed=1)
    a, b, same, fold = pairs.T
    assert np.array_equal(person[a] == person[b], same.astype(bool))
    assert (a != b).all()
    for k in np.unique(fold):
        assert (same[fold == k] == 1).sum() == (same[fold == k] == 0).sum() <= 30
        others = set(person[a[fold != k]]) | set(person[b[fold != k]])
        assert not (set(person[a[fold == k]]) | set(person[b[fold == k]])) & others
    same_pairs = pairs[same == 1]
    assert np.bincount(person[same_pairs[:, 0]]).max() <= 3
    assert len({(x, y) for x, y in pairs[:, :2]}) == len(pairs)


def test_no_person_with_two_photos_is_one_line():
    with pytest.raises(FacegenError, match="two photos"):
        verification_pairs(np.arange(10))


# ---- person classes -----------------------------------------------------------------------------------------
def test_person_classes_number_training_people_first():
    person = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 9])
    n = len(person)
    faces = FaceSet(torch.zeros(n, 3, 4, 4, dtype=torch.uint8), torch.zeros(n, 0), [], torch.ones(n, dtype=torch.bool),
                    [str(i) for i in range(n)], meta={"person": person})
    out = person_classes(faces, 0.3, seed=5)
    train, val = split_groups(person, 0.3, 5)
    cls = out.cond[:, 0].long()
    t = len(torch.unique(person[train]))
    assert out.cond_names == ["person"] and out.cond.shape == (n, 1)
    assert set(cls[train].tolist()) == set(range(t)) and (cls[val] >= t).all()
    for i in range(n):  # the same person, the same class; different people, different classes
        assert ((cls == cls[i]) == (person == person[i])).all()
    with pytest.raises(FacegenError, match="lfw"):
        person_classes(FaceSet(faces.images, faces.cond, [], faces.labelled, faces.names), 0.3, 5)


# ---- framing and network ------------------------------------------------------------------------------------
def _blob_face(size: int = 64) -> torch.Tensor:
    """A smooth synthetic 'mean face': two dark eyes and a mouth on a bright oval."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    g = lambda x0, y0, s: torch.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s**2))  # noqa: E731
    face = 0.3 + 0.5 * g(0.5, 0.5, 0.25) - 0.4 * (g(0.38, 0.42, 0.04) + g(0.62, 0.42, 0.04)) - 0.3 * g(0.5, 0.7, 0.05)
    return face.clamp(0, 1).expand(3, -1, -1).clone()


def test_fit_box_finds_the_box_a_template_was_cut_from():
    face = _blob_face()
    box = (0.52, 0.47, 0.6)
    template = crop_box(face[None], box, 64)[0]
    found, score = fit_box(face, template)
    assert score > 0.99
    assert np.allclose(found, box, atol=0.011)


def test_crop_box_of_the_full_frame_is_the_image_and_a_half_box_is_a_quarter():
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(crop_box(x, FULL, 16), x)
    quarter = crop_box(x, (0.25, 0.25, 0.5), 8)
    assert torch.allclose(quarter, x[..., :8, :8], atol=1e-5)


def test_jitter_zero_is_the_identity_and_keeps_shape():
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(jittered(x, 0.0), x)
    torch.manual_seed(0)
    assert jittered(x, 0.1).shape == x.shape


def test_embedding_is_a_mirror_invariant_unit_vector():
    torch.manual_seed(0)
    net = IdentityNet(3, 32, dim=16, width=4, stem_stride=2).eval()
    x = torch.rand(4, 3, 40, 40)
    e = net.embed(x)
    assert e.shape == (4, 16) and torch.allclose(e.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(e, net.embed(x.flip(-1)), atol=1e-5)
    assert torch.allclose(cosine_distance(e, e), torch.zeros(4), atol=1e-6)
    assert stage_size(64) == 8 and stage_size(50) == 7 and stage_size(64, 2) == 4 and stage_size(50, 2) == 4


def test_blur_and_down_up_keep_a_constant_image():
    x = torch.full((1, 3, 32, 32), 0.4)
    assert torch.allclose(blurred(x, 2.0), x, atol=1e-6) and torch.allclose(down_up(x), x, atol=1e-6)


# ---- the model through the one trainer, on toy people -------------------------------------------------------
@pytest.fixture(scope="module")
def identity_run(tmp_path_factory) -> Path:
    return train_toy_identity(tmp_path_factory.mktemp("identity"), n_people=24, n_epochs=3, batch_size=16)


def test_train_identity_writes_a_verified_run(identity_run):
    flags = json.loads((identity_run / "flags.json").read_text())
    assert flags["model"] == "identity" and Run.load(identity_run).data.needs.targets is Targets.PERSON
    assert flags["model_config"]["cond_dim"] == 12  # half of the 24 people train
    result = json.loads((identity_run / "verification.json").read_text())
    v = result["verification"]
    assert v["n_people"] == 12 and v["n_pairs"] == 2 * v["n_same"] > 0 and v["folds"] == 6
    assert 0.5 <= v["accuracy_mean"] <= 1 and np.isfinite(v["threshold"])
    assert set(result["calibration"]["rows"]) >= {"blur sigma 1 px", "a different person"}
    written(identity_run, "mean_face.png", "plots/verification.png")
    log = (identity_run / "training.csv").read_text().splitlines()[0]
    assert "train_cosface" in log and "val_cos_same" in log


def test_judge_calls_a_face_itself(identity_run):
    judge = load_judge(identity_run)
    assert isinstance(judge, IdentityJudge) and judge.template.shape == (3, 32, 32)
    x = torch.rand(5, 3, 40, 40)
    kept = judge.kept(x, x.clone())
    assert kept["share_same"] == 1.0 and kept["mean_distance"] == pytest.approx(0.0, abs=1e-5)


def test_judge_needs_a_verified_identity_run(tmp_path, identity_run):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(identity_run, copy)
    (copy / "verification.json").unlink()
    with pytest.raises(FacegenError, match="verify_identity.py"):
        load_judge(copy)


@pytest.mark.data("lfw/lfwcrop_color_64")
def test_real_lfw_people_split_and_classes(tmp_path):
    from facegen.data.spec import DataSpec

    spec = DataSpec(dataset="lfw", data=SHARED_DATA / "lfw", size=32, cache_dir=tmp_path, val_fraction=0.2,
                    needs=DataNeeds(Targets.PERSON))
    faces = spec.load()
    train, val = spec.split(faces)
    t = int(train.cond.max()) + 1
    assert t == len(torch.unique(train.meta["person"])) and (val.cond >= t).all()
    assert not set(train.meta["person"].tolist()) & set(val.meta["person"].tolist())


def test_identified_share_and_strict_threshold(identity_run):
    judge = load_judge(identity_run)
    assert judge.threshold_strict is not None and math.isfinite(judge.threshold_strict)  # 1 % false accepts
    e = F.normalize(torch.eye(4) + 0.01, dim=1)
    same = judge.summarise(e, e)
    assert same["share_identified"] == 1.0 and same["share_same_strict"] == 1.0
    swapped = judge.summarise(e, e[[1, 0, 3, 2]])
    assert swapped["share_identified"] == 0.0 and swapped["mean_distance"] == pytest.approx(1 - float(e[0] @ e[1]))
