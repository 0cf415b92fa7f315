"""Attribute arithmetic: difference-of-means vectors, SVM directions, projection, edits (synthetic codes)."""

import numpy as np
import pytest
import torch

from facegen.analysis.directions.attribute import (
    AttributeVectors,
    edit_codes,
    load_vectors,
    mean_difference,
    mean_difference_direction,
    project_out,
    save_vectors,
    svm_direction,
)
from facegen.core.errors import FacegenError


def codes_with_attribute(n: int = 600, dims: int = 6, axis: int = 2, shift: float = 3.0, seed: int = 0):
    """Codes N(0, I) where faces with the attribute are moved by ``shift`` along one known axis."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dims, generator=g)
    has = torch.rand(n, generator=g) < 0.3
    z[has, axis] += shift
    attrs = torch.stack([torch.where(has, 1, -1), torch.where(~has, 1, -1)], dim=1).to(torch.int8)
    return z, attrs


def test_difference_of_means_recovers_the_shifted_dimension():
    z, attrs = codes_with_attribute()
    vecs = mean_difference(z, attrs, ["Smiling", "Not_Smiling"])
    v = vecs.vector("Smiling").numpy()
    assert abs(v[2] - 3.0) < 0.3
    assert np.abs(np.delete(v, 2)).max() < 0.3
    assert vecs.n_with[0] == int((attrs[:, 0] > 0).sum()) and vecs.n_with[0] + vecs.n_without[0] == len(z)
    np.testing.assert_allclose(vecs.vectors[1], -vecs.vectors[0])
    # adding the vector to the codes without the attribute lands on the mean code of those with it
    moved = z[attrs[:, 0] < 0].mean(0) + vecs.vector("Smiling")
    torch.testing.assert_close(moved, torch.from_numpy(vecs.mean_with[0]).float(), atol=1e-5, rtol=0)


def test_attribute_nobody_has_gives_a_clear_error():
    z = torch.randn(10, 3)
    attrs = torch.full((10, 1), -1, dtype=torch.int8)
    vecs = mean_difference(z, attrs, ["Bald"])
    assert vecs.n_with[0] == 0 and np.isnan(vecs.vectors[0]).all()
    with pytest.raises(FacegenError, match="no face has the attribute Bald"):
        vecs.vector("Bald")


def test_vectors_round_trip_through_npz(tmp_path):
    z, attrs = codes_with_attribute()
    vecs = mean_difference(z, attrs, ["Smiling", "Not_Smiling"])
    groups = {"Male": mean_difference(z[:300], attrs[:300], vecs.names),
              "not Male": mean_difference(z[300:], attrs[300:], vecs.names)}
    path = tmp_path / "attributes" / "attribute_vectors.npz"
    save_vectors(path, vecs, groups, "Male")
    back = load_vectors(path)
    assert isinstance(back, AttributeVectors) and back.names == vecs.names
    np.testing.assert_allclose(back.vectors, vecs.vectors)
    with np.load(path) as f:
        assert f["by_vectors"].shape == (2, 2, 6) and str(f["by"]) == "Male"
        assert list(f["by_groups"]) == ["Male", "not Male"]
    with pytest.raises(FacegenError, match="attribute_vectors.py"):
        load_vectors(tmp_path / "missing.npz")


def test_svm_direction_recovers_the_separating_dimension():
    z, attrs = codes_with_attribute(shift=4.0)
    d = svm_direction(z, attrs[:, 0], "Smiling", seed=0)
    assert d.accuracy > 0.9 and d.balanced_accuracy > 0.9
    assert np.isclose(np.linalg.norm(d.normal), 1.0)
    assert d.normal[2] > 0.95  # points towards the attribute, along axis 2
    assert d.n_train + d.n_test == len(z)


def test_mean_difference_and_svm_directions_share_the_step_between_the_class_means():
    """The mean_diff direction is the difference of the class means over its length (computed by brute force
    here), that length is its step, and the SVM direction steps the same distance."""
    z, attrs = codes_with_attribute(shift=4.0)
    has = attrs[:, 0] > 0
    diff = (z[has].double().mean(0) - z[~has].double().mean(0)).numpy()
    d = mean_difference_direction(z, attrs[:, 0], "Smiling")
    np.testing.assert_allclose(d.normal, diff / np.linalg.norm(diff), atol=1e-12)
    assert d.step == pytest.approx(np.linalg.norm(diff), rel=1e-12) and np.isnan(d.accuracy)
    assert d.n_train == len(z) and d.n_test == 0
    assert svm_direction(z, attrs[:, 0], "Smiling", seed=0).step == pytest.approx(d.step, rel=1e-12)
    with pytest.raises(FacegenError, match="lacks the attribute Young"):
        mean_difference_direction(torch.randn(20, 3), torch.ones(20, dtype=torch.int8), "Young")


def test_svm_direction_needs_both_classes():
    with pytest.raises(FacegenError, match="lacks the attribute Young"):
        svm_direction(torch.randn(20, 3), torch.ones(20, dtype=torch.int8), "Young")


def test_projection_is_orthogonal_to_the_conditioning_directions():
    rng = np.random.default_rng(0)
    target, a, b = rng.normal(size=(3, 8))
    cond = project_out(target, [a, b])
    assert np.isclose(np.linalg.norm(cond), 1.0)
    assert abs(cond @ a) < 1e-10 and abs(cond @ b) < 1e-10
    assert cond @ target > 0  # still an edit of the target attribute
    # what is left is exactly the part of the target outside span(a, b)
    basis = np.linalg.qr(np.stack([a, b]).T)[0]
    rest = target - basis @ (basis.T @ target)
    np.testing.assert_allclose(cond, rest / np.linalg.norm(rest))
    np.testing.assert_allclose(project_out(target, []), target / np.linalg.norm(target))
    with pytest.raises(FacegenError, match="span"):
        project_out(a + 2 * b, [a, b])


def test_edit_codes_adds_multiples_of_the_direction():
    z = torch.zeros(2, 3)
    out = edit_codes(z, torch.tensor([1.0, 0.0, -1.0]), [0.0, 0.5, 2.0])
    assert out.shape == (2, 3, 3)
    torch.testing.assert_close(out[1, 2], torch.tensor([2.0, 0.0, -2.0]))
    torch.testing.assert_close(out[0, 0], z[0])


def test_faces_whose_edit_decodes_to_nan_are_left_out_and_counted():
    """A flow's inverse can diverge far from the data: such faces must not count as 'attribute removed'."""
    from facegen.analysis.evaluation.attribute_edits import _judge

    before = torch.tensor([[0.2, 0.9], [0.3, 0.1], [0.1, 0.5], [0.4, 0.6]])
    after = torch.tensor([[0.8, 0.9], [float("nan"), float("nan")], [0.6, 0.5], [0.3, 0.6]])
    cols = {"target": 0, "others": [1], "conditions": []}
    got = _judge(before, after, cols)
    assert got["diverged"] == 0.25
    assert got["before"] == 0.0 and abs(got["after"] - 2 / 3) < 1e-6  # 2 of the 3 finite faces now positive
    assert abs(got["target_change"] - (0.6 + 0.5 - 0.1) / 3) < 1e-6
