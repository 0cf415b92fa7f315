"""Sample-quality numbers against their definitions (the Fréchet distance is tests/test_stats.py's): the kernel
distance and precision / recall against brute-force loops, memorisation, diversity and sharpness on constructed
cases."""

from __future__ import annotations

import pytest
import torch
import torchvision

from facegen.analysis.evaluation.sample_quality import (
    NetFeatures,
    PixelFeatures,
    compare,
    feature_vectors,
    kernel_distance,
    laplacian_energy,
    memorisation,
    precision_recall,
    sharpness_ratio,
)
from facegen.core.errors import FacegenError
from facegen.nn.attrnet import AttributeNet


def test_kernel_distance_is_the_unbiased_mmd_of_a_brute_force_loop():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(7, 3, generator=g), torch.randn(5, 3, generator=g) + 0.5
    k = lambda u, v: (float(u.double() @ v.double()) / 3 + 1) ** 3  # noqa: E731
    aa = sum(k(a[i], a[j]) for i in range(7) for j in range(7) if i != j) / 42
    bb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    ab = sum(k(a[i], b[j]) for i in range(7) for j in range(5)) / 35
    assert kernel_distance(a, b) == pytest.approx(aa + bb - 2 * ab, rel=1e-10)


def test_precision_recall_against_a_brute_force_loop_and_extremes():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(12, 2, generator=g), torch.randn(9, 2, generator=g) * 1.5 + 0.7

    def radius(x, i, k):
        return sorted(float((x[i] - x[j]).norm()) for j in range(len(x)) if j != i)[k - 1]

    inside = lambda p, x, k: any(float((p - x[i]).norm()) <= radius(x, i, k) for i in range(len(x)))  # noqa: E731
    want = (sum(inside(f, real, 3) for f in fake) / 9, sum(inside(r, fake, 3) for r in real) / 12)
    assert precision_recall(real, fake, k=3) == pytest.approx(want)
    assert precision_recall(real, real.clone(), k=3) == (1.0, 1.0)
    assert precision_recall(real, fake + 100, k=3) == (0.0, 0.0)
    with pytest.raises(FacegenError, match="more than 3"):
        precision_recall(real[:3], fake, k=3)


def test_memorised_samples_sit_on_training_faces_and_copies_have_no_diversity():
    g = torch.Generator().manual_seed(3)
    train, heldout = torch.randn(50, 4, generator=g), torch.randn(20, 4, generator=g)
    assert memorisation(train[:10], heldout, train)["ratio"] == 0
    assert memorisation(heldout, heldout, train)["ratio"] == pytest.approx(1)
    same = compare(torch.zeros(10, 4) + train[0], heldout, train)
    assert same["diversity"] == 0 and same["nearest_ratio"] == 0 and same["recall"] <= 0.2


def test_feature_maps_give_one_vector_per_face():
    """Pixel features are each face's 5 x 5 px block means (40 px in 8 x 8 blocks) of its values in [0, 1], in
    channel, row, column order; net features are the attribute net's relu4 averaged over positions."""
    images = torch.randint(0, 256, (5, 3, 40, 40), dtype=torch.uint8)
    x = images.float() / 255
    blocks = x.view(5, 3, 8, 5, 8, 5).mean((3, 5)).flatten(1)
    torch.testing.assert_close(feature_vectors(PixelFeatures(), images), blocks)
    torch.manual_seed(0)
    net = AttributeNet(2, 3, 32).eval()
    with torch.no_grad():
        relu4 = net.features(x, ["relu4"])[0].mean((2, 3))
    got = feature_vectors(NetFeatures(net), images)
    assert got.shape == (5, 128)
    torch.testing.assert_close(got, relu4)


def test_laplacian_energy_closed_forms_and_blur_lowers_sharpness():
    checker = ((torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2).float()  # 0/1: Laplacian is +-4 inside
    grey = checker[None, None]
    assert laplacian_energy(grey).tolist() == [16.0]
    assert laplacian_energy(grey.expand(1, 3, 8, 8)).item() == pytest.approx(16.0, rel=1e-3)  # weights sum to .9999
    ramp = torch.linspace(0, 1, 8)[None, None, None, :].expand(2, 1, 8, 8)  # linear: no curvature
    assert laplacian_energy(ramp).abs().max() < 1e-10
    assert laplacian_energy((grey * 255).to(torch.uint8)).item() == pytest.approx(16.0)  # uint8 scaled to [0, 1]
    g = torch.Generator().manual_seed(0)
    faces = torch.rand(6, 3, 32, 32, generator=g)
    blurred = torchvision.transforms.functional.gaussian_blur(faces, [5, 5], [1.0, 1.0])
    assert sharpness_ratio(faces, faces) == pytest.approx(1.0)
    assert sharpness_ratio(blurred, faces) < 0.2
