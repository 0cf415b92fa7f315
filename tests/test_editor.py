"""The smile editor family: GANimation's composition and terms, the mouth frame, the photo pipeline's paste-back,
the geometry labeller (ridge closed form) and the classifier two-sample test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facegen.analysis.editing.mouth_editor import DEGREE_GAP, SMILE_SHAPE, edit_mouths, reshape_mouth
from facegen.analysis.evaluation.two_sample import held_out_accuracy
from facegen.core.errors import FacegenError
from facegen.data.landmarks import LEFT_CORNER, LEFT_EYE, MOUTH, RIGHT_CORNER, RIGHT_EYE, Face
from facegen.data.mouths import SIDE, mouth_frame
from facegen.data.smile_geometry import cross_validate, fit
from facegen.models.editor.ganimation import GANimation, GANimationConfig, total_variation
from tests.helpers import SHARED_DATA


def _editor(size: int = 32) -> GANimation:
    torch.manual_seed(0)
    return GANimation(GANimationConfig(size=size, channels=3, cond_dim=1, g_width=8, n_res=1, d_width=8,
                                       d_layers=3)).eval()


def _face(angle_deg: float = 0.0, eye_distance: float = 40.0, centre=(100.0, 90.0)) -> Face:
    """Landmarks of a face turned by ``angle_deg``: eyes ``eye_distance`` apart, the mouth 1.2 of that below."""
    points = np.zeros((68, 2))
    local = [(LEFT_EYE, (-0.5, 0.0)), (RIGHT_EYE, (0.5, 0.0)), (MOUTH, (0.0, 1.2))]
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for part, (x, y) in local:
        points[part] = rot @ (np.array([x, y]) * eye_distance) + centre
    points[0], points[16] = rot @ np.array([-1.1, 0.6]) * eye_distance + centre, \
        rot @ np.array([1.1, 0.6]) * eye_distance + centre
    return Face((0, 0, 1, 1), points)


def test_total_variation_closed_forms():
    ramp = torch.arange(8.0).expand(8, 8)[None, None]  # columns 0..7: horizontal steps of 1, none vertical
    assert total_variation(ramp) == pytest.approx(1.0)
    checker = ((torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2).float()[None, None]
    assert total_variation(checker) == pytest.approx(2.0)
    assert total_variation(torch.ones(1, 1, 8, 8)) == 0


@pytest.mark.parametrize(("bias", "expect_input"), [(-60.0, True), (60.0, False)])
def test_attention_zero_passes_the_input_and_one_gives_the_colour(bias, expect_input):
    model = _editor()
    with torch.no_grad():
        model.generator.attention[0].weight.zero_()
        model.generator.attention[0].bias.fill_(bias)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    edited, colour, attention = model.edit(x, torch.ones(2, 1))
    assert torch.allclose(edited, x if expect_input else colour, atol=1e-6)
    assert not torch.allclose(colour, x, atol=1e-2)


def test_mouth_frame_puts_the_mouth_in_the_centre_level_and_scaled():
    for angle in (0.0, 20.0, -28.0):
        face = _face(angle)
        t = mouth_frame(face, 96)
        to_patch = face.landmarks @ t[:, :2].T + t[:, 2]
        assert np.allclose(to_patch[MOUTH].mean(0), (48, 48), atol=1e-6)
        left, right = to_patch[LEFT_EYE].mean(0), to_patch[RIGHT_EYE].mean(0)
        assert left[1] == pytest.approx(right[1], abs=1e-6) and left[0] < right[0]
        assert right[0] - left[0] == pytest.approx(96 / SIDE, rel=1e-6)


def test_a_photo_edit_changes_only_the_mouth_frame_and_nothing_with_a_closed_mask():
    model = _editor(32)
    photo = torch.rand(3, 200, 240, generator=torch.Generator().manual_seed(2))
    face = _face(15.0, eye_distance=40.0, centre=(150.0, 80.0))
    edited, edits = edit_mouths(model, photo, [face], 1.0)
    t = torch.from_numpy(mouth_frame(face, 32))
    yy, xx = torch.meshgrid(torch.arange(200) + 0.5, torch.arange(240) + 0.5, indexing="ij")
    inside = torch.stack([xx.flatten(), yy.flatten()], 1).double() @ t[:, :2].T + t[:, 2]
    in_frame = ((inside > 0) & (inside < 32)).all(1).reshape(200, 240)
    assert torch.equal(edited[:, ~in_frame], photo[:, ~in_frame])
    assert (edited[:, in_frame] - photo[:, in_frame]).abs().max() > 0.01
    assert edits[0].patch.shape == (3, 32, 32) and edits[0].attention.shape == (1, 32, 32)
    with torch.no_grad():
        model.generator.attention[0].weight.zero_()
        model.generator.attention[0].bias.fill_(-60.0)
    assert torch.allclose(edit_mouths(model, photo, [face], 1.0, reshape=False)[0], photo, atol=1e-6)
    reshaped = edit_mouths(model, photo, [face], 1.0)[0]  # only the mouth's reshaping is left, inside the frame
    assert torch.equal(reshaped[:, ~in_frame], photo[:, ~in_frame]) and not torch.allclose(reshaped, photo)


def test_ridge_labeller_matches_the_normal_equations_and_recovers_a_linear_degree():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5)) * [1, 2, 3, 4, 5] + 7
    w_true = np.array([0.3, -0.2, 0.1, 0.0, 0.05])
    z = (x - x.mean(0)) / x.std(0)
    y = np.clip(z @ w_true, -1, 1)
    model = fit(x, y, alpha=2.0)
    expected = np.linalg.inv(z.T @ z + 2.0 * np.eye(5)) @ z.T @ (y - y.mean())
    assert np.allclose(model.weights, expected, atol=1e-10)
    assert cross_validate(x, y)["correlation"] > 0.99


def test_two_sample_test_is_near_chance_for_one_distribution_and_sure_for_two():
    g = torch.Generator().manual_seed(0)
    same_a, same_b = torch.rand(40, 1, 8, 8, generator=g), torch.rand(40, 1, 8, 8, generator=g)
    assert abs(held_out_accuracy(same_a, same_b, epochs=10)["accuracy"] - 0.5) < 0.15
    bright = torch.rand(40, 1, 8, 8, generator=g) * 0.5 + 0.5
    assert held_out_accuracy(same_a * 0.5, bright, epochs=10)["accuracy"] > 0.9


def _dot_centre(img: torch.Tensor, near: np.ndarray, radius: int = 7) -> np.ndarray:
    x0, y0 = (int(v) for v in near)
    patch = img[0, y0 - radius:y0 + radius, x0 - radius:x0 + radius].double()
    yy, xx = torch.meshgrid(torch.arange(y0 - radius, y0 + radius) + 0.5, torch.arange(x0 - radius, x0 + radius) + 0.5,
                            indexing="ij")
    return np.array([float((patch * xx).sum() / patch.sum()), float((patch * yy).sum() / patch.sum())])


def test_reshaping_moves_the_corners_out_and_up_as_a_real_smile_does_and_nothing_at_zero():
    face = _face(0.0, eye_distance=60.0, centre=(120.0, 70.0))
    face.landmarks[LEFT_CORNER] = face.landmarks[MOUTH].mean(0) + (-24.0, 0.0)
    face.landmarks[RIGHT_CORNER] = face.landmarks[MOUTH].mean(0) + (24.0, 0.0)
    yy, xx = torch.meshgrid(torch.arange(200) + 0.5, torch.arange(240) + 0.5, indexing="ij")
    dots = sum(torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5**2)) for x, y in face.landmarks[[48, 54]])
    photo = dots[None].expand(3, -1, -1).float()
    assert torch.allclose(reshape_mouth(photo, face, 0.0), photo, atol=1e-6)
    smiled = reshape_mouth(photo, face, DEGREE_GAP)  # a whole real smile's change
    d = 60.0
    for corner, side in ((LEFT_CORNER, -1), (RIGHT_CORNER, 1)):
        moved = _dot_centre(smiled, face.landmarks[corner]) - face.landmarks[corner]
        assert moved[0] * side == pytest.approx(SMILE_SHAPE["width"] / 2 * d, rel=0.35)
        assert -moved[1] == pytest.approx(SMILE_SHAPE["lift"] * d, rel=0.5)


SHARED_LFW = SHARED_DATA / "lfw" / "photos"


@pytest.fixture(scope="module")
def tiny_editor(tmp_path_factory) -> Path:
    """An editor trained one epoch on 48 toy faces at 32 px (a complete run folder)."""
    import train_editor

    root = tmp_path_factory.mktemp("editor")
    out = root / "editor"
    train_editor.main(["--dataset", "toy", "--toy_dir", str(root / "toy"), "--toy_n", "48", "--resize", "32",
                       "--cache_dir", str(root / "cache"), "--g_width", "8", "--d_width", "8", "--n_res", "1",
                       "--d_layers", "3", "--n_epochs", "1", "--out", str(out)])
    return out


@pytest.mark.data("lfw/photos")
def test_edit_photo_with_an_editor_run_edits_the_mouth_and_keeps_the_rest(tiny_editor, tmp_path):
    import edit_photo
    from facegen.data.photos import read_photo

    photo_path = sorted(SHARED_LFW.glob("*.jpg"))[0]
    edit_photo.main([str(photo_path), "--run", str(tiny_editor), "--smile", "-1,1", "--out", str(tmp_path)])
    photo = read_photo(photo_path)
    for value in ("-1", "+1"):
        edited = read_photo(tmp_path / f"{photo_path.stem}_smile{value}.png")
        assert edited.shape == photo.shape
        diff = (edited - photo).abs().amax(0)
        assert diff.max() > 0.05  # the mouth changed
        changed = torch.nonzero(diff > 1 / 255)
        span = (changed.max(0).values - changed.min(0).values).tolist()
        assert max(span) < 0.5 * photo.shape[-1]  # ... and only around it
    with pytest.raises(FacegenError, match="--method"):
        edit_photo.main([str(photo_path), "--run", str(tiny_editor), "--smile", "1", "--method", "replace",
                         "--out", str(tmp_path / "m")])
