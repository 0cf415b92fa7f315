"""The procedural toy faces: visible smiles, determinism, atomic generation, read by the UTKFace loader."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from facegen.data import resolve_data, toyfaces
from facegen.data.toyfaces import MOUTH_COLOUR, FaceParams, draw_face, make_toy_dataset, random_params
from facegen.data.utkface import load_utkface, parse_utk_name


def mouth_corner_lift(p: FaceParams, size: int = 128) -> float:
    """Mean row of the mouth's middle minus mean row of its corners (> 0: corners higher, a smile)."""
    img = np.asarray(draw_face(p, size)).astype(float)
    mask = (np.linalg.norm(img - MOUTH_COLOUR, axis=-1) < 50) & (img[..., 0] - img[..., 1] > 45)
    box = np.zeros_like(mask)  # only between nose and chin: brows and hair can be dark red-brown too
    box[int(size * 0.55) : int(size * 0.75), int(size * 0.3) : int(size * 0.7)] = True
    mask &= box
    ys, xs = np.nonzero(mask)
    assert len(xs) > 10, "no mouth found"
    corners = (xs <= xs.min() + 2) | (xs >= xs.max() - 2)
    middle = np.abs(xs - (xs.min() + xs.max()) / 2) <= 2
    return ys[middle].mean() - ys[corners].mean()


def test_smile_bends_the_mouth_the_right_way():
    face = FaceParams()
    smile, flat, frown = (mouth_corner_lift(replace(face, smile=s)) for s in (1.0, 0.0, -1.0))
    assert smile > 5 and frown < -5 and abs(flat) < 2
    rng = np.random.default_rng(1)  # also with random features, upright and centred
    for _ in range(5):
        p = replace(random_params(rng), rotation=0.0, shift_x=0.0, shift_y=0.0)
        assert mouth_corner_lift(replace(p, smile=0.9)) > 3 > -3 > mouth_corner_lift(replace(p, smile=-0.9))


def test_params_show_gender_by_hair_and_keep_smile_independent():
    rng = np.random.default_rng(0)
    ps = [random_params(rng) for _ in range(2000)]
    gender = np.array([p.gender for p in ps])
    long_hair = np.array([p.long_hair for p in ps])
    smile = np.array([p.smile for p in ps])
    assert 0.72 < long_hair[gender == 1].mean() < 0.88 and 0.12 < long_hair[gender == 0].mean() < 0.28
    assert smile.min() >= -1 and smile.max() <= 1 and abs(np.corrcoef(smile, gender)[0, 1]) < 0.08
    ages = [p.age for p in ps]
    assert {p.race for p in ps} == set(range(5)) and 1 <= min(ages) <= max(ages) <= 90


def test_dataset_is_deterministic_per_seed_and_loadable(tmp_path):
    images, labels = make_toy_dataset(tmp_path / "a", n=12, seed=3, size=48)
    again, _ = make_toy_dataset(tmp_path / "b", n=12, seed=3, size=48)
    other, _ = make_toy_dataset(tmp_path / "c", n=12, seed=4, size=48)
    files = sorted(images.iterdir())
    assert len(files) == 12 and [f.name for f in files] == sorted(f.name for f in again.iterdir())
    assert all(f.read_bytes() == (again / f.name).read_bytes() for f in files)
    assert [f.read_bytes() for f in files] != [f.read_bytes() for f in sorted(other.iterdir())]
    info = parse_utk_name(files[0].name)
    assert info["gender"] in (0, 1) and 0 <= info["race"] <= 4 and 1 <= info["age"] <= 90
    faces = load_utkface(images, labels, size=32, channels=3, conditions=("smile", "gender"), cache_dir=None)
    assert len(faces) == 12 and faces.images.shape == (12, 3, 32, 32)
    assert faces.cond.abs().max() <= 1 and faces.cond[:, 0].std() > 0.1


def test_complete_dataset_is_reused_and_stale_one_replaced(tmp_path, monkeypatch, capsys):
    root = tmp_path / "toy"
    make_toy_dataset(root, n=5, seed=0, size=32)
    assert capsys.readouterr().out.count("\n") == 1
    calls = []
    monkeypatch.setattr(toyfaces, "_generate", lambda *a: calls.append(a))
    assert make_toy_dataset(root, n=5, seed=0, size=32) == (root / "images", root / "labels.csv")
    assert not calls and capsys.readouterr().out == ""
    monkeypatch.undo()
    make_toy_dataset(root, n=7, seed=0, size=32)
    assert len(list((root / "images").iterdir())) == 7
    assert [p.name for p in tmp_path.iterdir()] == ["toy"]  # no partial or old folder left behind


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def broken(p, size=128):
        raise KeyboardInterrupt

    monkeypatch.setattr(toyfaces, "draw_face", broken)
    with pytest.raises(KeyboardInterrupt):
        make_toy_dataset(tmp_path / "toy", n=4)
    assert list(tmp_path.iterdir()) == []


def test_no_data_falls_back_to_toy_faces(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    kind, images, labels = resolve_data(None, None, toy_root=tmp_path / "toy", toy_n=6)
    assert kind == "toy" and len(list(images.iterdir())) == 6 and labels.is_file()
    assert "toy faces" in capsys.readouterr().out
