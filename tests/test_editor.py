"""The smile editor family: GANimation's composition and terms, the mouth frame, the photo pipeline's paste-back,
the geometry labeller (ridge closed form) and the classifier two-sample test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facegen.analysis.expression.mouth_editor import edit_mouths
from facegen.analysis.expression.two_sample import held_out_accuracy
from facegen.data.landmarks import LEFT_EYE, MOUTH, RIGHT_EYE, Face
from facegen.data.mouths import SIDE, mouth_frame
from facegen.data.smile_geometry import cross_validate, fit
from facegen.models.editor.ganimation import GANimation, GANimationConfig, total_variation


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
    assert torch.allclose(edit_mouths(model, photo, [face], 1.0)[0], photo, atol=1e-6)


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
