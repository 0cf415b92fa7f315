"""Depth maps of the toy faces: same geometry and pose as the photo, near = bright, nose nearest, on disk."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from facegen.data.toydepth import NOSE_GREY, draw_depth
from facegen.data.toyfaces import MANIFEST, FaceParams, draw_face, make_toy_dataset, random_params


def figure_mask(p: FaceParams, size: int) -> np.ndarray:
    """Where the photo shows the figure: the pixels that do not change with the background colour (a pixel
    half covered by the figure changes by half the colour difference)."""
    flat = replace(p, light_strength=0.0)
    black = np.asarray(draw_face(replace(flat, background=(0, 0, 0)), size)).astype(float)
    white = np.asarray(draw_face(replace(flat, background=(255, 255, 255)), size)).astype(float)
    return (white - black).mean(-1) < 127.5


def posed_point(p: FaceParams, size: int, fx: float, fy: float) -> np.ndarray:
    """(row, col) where the unposed point (fx, fy) (fractions of the side) lands after draw_face's pose,
    found by posing a one-dot image with PIL itself."""
    k = 8  # a fine grid, so the dot's centroid is sub-pixel accurate
    dot = Image.new("L", (size * k, size * k))
    dot.putpixel((int(fx * size * k), int(fy * size * k)), 255)
    dot = dot.rotate(p.rotation, resample=Image.Resampling.BILINEAR,
                     translate=(p.shift_x * size * k, p.shift_y * size * k))
    w = np.asarray(dot).astype(float)
    rows, cols = np.indices(w.shape)
    return np.array([(rows * w).sum(), (cols * w).sum()]) / w.sum() / k


def faces(n: int, seed: int = 0) -> list[FaceParams]:
    rng = np.random.default_rng(seed)
    return [random_params(rng) for _ in range(n)]


def test_depth_is_deterministic_grey_and_sized():
    p = faces(1)[0]
    a, b = draw_depth(p, 64), draw_depth(p, 64)
    assert a.mode == "L" and a.size == (64, 64) and a.tobytes() == b.tobytes()
    assert draw_depth(replace(p, eye_size=p.eye_size * 1.2), 64).tobytes() != a.tobytes()


@pytest.mark.parametrize("size", [48, 128])
def test_depth_covers_exactly_the_drawn_figure(size):
    ps = faces(12, seed=size)
    assert {p.long_hair for p in ps} == {True, False}
    for p in ps:
        depth = np.asarray(draw_depth(p, size))
        drawn, has_depth = figure_mask(p, size), depth > 0
        iou = (drawn & has_depth).sum() / (drawn | has_depth).sum()
        assert iou > 0.95, (p, iou)
        # away from the outline (one pixel either way) the two agree exactly
        inner = drawn & np.roll(drawn, 1, 0) & np.roll(drawn, -1, 0) & np.roll(drawn, 1, 1) & np.roll(drawn, -1, 1)
        outer = ~(drawn | np.roll(drawn, 1, 0) | np.roll(drawn, -1, 0) | np.roll(drawn, 1, 1) | np.roll(drawn, -1, 1))
        assert has_depth[inner].all() and not has_depth[outer].any()
        assert depth.max() == NOSE_GREY  # the nearest point is at grey 250, as in the Kinect pairs


def test_nose_is_the_nearest_region():
    size = 128
    for p in faces(10, seed=3):
        depth = np.asarray(draw_depth(p, size)).astype(float)
        nose = posed_point(p, size, 0.5, 0.47 + 0.16 * p.face_h)  # the nose tip in toydepth's geometry
        rows, cols = np.nonzero(depth >= np.percentile(depth[depth > 0], 99.5))  # the nearest 0.5 %
        dist = np.hypot(rows + 0.5 - nose[0], cols + 0.5 - nose[1])
        assert dist.max() < 0.06 * size, (p, dist.max())
        # the drawn nose (an arc below the tip) is brighter than the eyes and the mouth around it
        eye = posed_point(p, size, 0.5 + p.eye_spacing, 0.47 - 0.08 * p.face_h)
        mouth = posed_point(p, size, 0.5, 0.47 + 0.5 * p.face_h)
        tip = depth[int(nose[0]), int(nose[1])]
        assert tip > depth[int(eye[0]), int(eye[1])] + 20 and tip > depth[int(mouth[0]), int(mouth[1])] + 20


def test_smile_shows_in_the_depth_around_the_mouth_only():
    p = replace(FaceParams(), light_strength=0.0)
    smile, frown = (np.asarray(draw_depth(replace(p, smile=s), 128)).astype(int) for s in (1.0, -1.0))
    changed = np.argwhere(smile != frown)
    assert len(changed) > 50
    mouth_row = 128 * (0.47 + 0.5 * p.face_h)
    assert np.abs(changed[:, 0] + 0.5 - mouth_row).max() < 128 * 1.5 * p.mouth_width  # rows near the mouth ...
    assert np.abs(changed[:, 1] + 0.5 - 64).max() < 128 * (p.mouth_width + 0.02)  # ... within its width


def test_dataset_writes_depth_beside_the_faces(tmp_path):
    images, _ = make_toy_dataset(tmp_path / "a", n=6, seed=5, size=40)
    again, _ = make_toy_dataset(tmp_path / "b", n=6, seed=5, size=40)
    depth, depth_again = images.parent / "depth", again.parent / "depth"
    names = sorted(f.name for f in images.iterdir())
    assert sorted(f.name for f in depth.iterdir()) == names
    assert all((depth / n).read_bytes() == (depth_again / n).read_bytes() for n in names)
    for n in names:
        with Image.open(depth / n) as d, Image.open(images / n) as photo:
            assert d.mode == "L" and d.size == photo.size == (40, 40)
    manifest = json.loads((images.parent / MANIFEST).read_text())
    assert manifest["depth"] == "depth" and manifest["images"] == "images"
