"""UTKFace names, the UTKFace loader and picking the dataset from the flags."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data import load_dataset, resolve_data
from facegen.data.labels import write_smile_labels
from facegen.data.utkface import load_utkface, parse_utk_name
from tests.helpers import SHARED_DATA


@pytest.mark.parametrize(
    ("name", "age", "gender", "race"),
    [
        ("18_0_0_20170105183259439.jpg.chip.jpg", 18, 0, 0),
        ("100_1_4_20170112213001988.jpg.chip.jpg", 100, 1, 4),
        ("39_1_20170116174525125.jpg.chip.jpg", 39, 1, -1),  # real file without race: a date is no race
        ("61_1_20170109142408075.jpg.chip.jpg", 61, 1, -1),
        ("25_1_3_toy00012.png", 25, 1, 3),
        ("7_2_1_x.jpg", 7, -1, 1),
        ("me.png", None, -1, -1),
        ("000001.jpg", None, -1, -1),
        ("2023_05_01.png", None, -1, -1),
        ("img_3_0.png", None, -1, -1),
        ("", None, -1, -1),
    ],
)
def test_parse_utk_name(name, age, gender, race):
    info = parse_utk_name(name)
    assert (math.isnan(info["age"]) if age is None else info["age"] == age)
    assert (info["gender"], info["race"]) == (gender, race)


def make_folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "faces"
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.new("RGB", (40, 40), (10 * i, 100, 200)).save(folder / name)
    return folder


NAMES = ["20_0_0_a.jpg", "30_1_2_b.jpg", "75_1_c.jpg", "face.png"]


def test_loads_labelled_faces_and_warns_once_about_missing_files(tmp_path, capsys):
    folder = make_folder(tmp_path, NAMES)
    labels = tmp_path / "labels.csv"
    write_smile_labels(labels, {"me.png": -0.1, **dict(zip(NAMES, [0.5, -0.5, 1.0, 0.0], strict=True))})
    faces = load_utkface(folder, labels, size=16, channels=1, cache_dir=None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 of the 5 faces" in err and "me.png" in err
    assert faces.images.shape == (4, 1, 16, 16) and faces.images.dtype == torch.uint8
    assert faces.names == NAMES and faces.cond_names == ["smile"]
    assert faces.cond[:, 0].tolist() == [0.5, -0.5, 1.0, 0.0] and faces.labelled.all()
    assert faces.meta["gender"].tolist() == [0, 1, 1, -1] and faces.meta["race"].tolist() == [0, 2, -1, -1]
    assert faces.source.startswith("UTKFace: 4 labelled faces from")


def test_a_skipped_file_warning_never_stands_beside_a_refusal(tmp_path, capsys):
    """Under guard (every script) the warning is held: dropped when the call is refused, else printed once after
    the work, however often the data was loaded."""
    from facegen.cli.args import guard
    from facegen.core.errors import FacegenError

    folder = make_folder(tmp_path, NAMES)
    labels = tmp_path / "labels.csv"
    write_smile_labels(labels, {"me.png": -0.1, **dict(zip(NAMES, [0.5, -0.5, 1.0, 0.0], strict=True))})

    def load_twice(then_refuse: bool) -> None:
        for _ in range(2):
            load_utkface(folder, labels, size=16, channels=1, cache_dir=None)
        if then_refuse:
            raise FacegenError("--flag X: refused")
        print("done")

    with pytest.raises(SystemExit):
        guard(lambda: load_twice(True))
    assert capsys.readouterr().err.strip().splitlines() == ["error: --flag X: refused"]
    guard(lambda: load_twice(False))
    out, err = capsys.readouterr()
    assert out == "done\n" and len(err.strip().splitlines()) == 1 and "me.png" in err


def test_gender_and_age_conditions_drop_faces_without_them(tmp_path, capsys):
    folder = make_folder(tmp_path, NAMES)
    labels = tmp_path / "labels.csv"
    write_smile_labels(labels, dict.fromkeys(NAMES, 0.25))
    conditions = ("smile", "gender", "age")
    faces = load_utkface(folder, labels, size=8, channels=3, conditions=conditions, cache_dir=None)
    assert capsys.readouterr().err.count("\n") == 1  # face.png has neither gender nor age
    assert faces.names == NAMES[:3] and faces.cond_names == ["smile", "gender", "age"]
    expected = [[0.25, -1.0, -0.6], [0.25, 1.0, -0.4], [0.25, 1.0, 0.5]]
    assert torch.allclose(faces.cond, torch.tensor(expected))


def test_unlabelled_faces_are_added_after_the_labelled_ones(tmp_path):
    folder = make_folder(tmp_path, NAMES)
    extra = make_folder(tmp_path / "more", ["90_0_1_z.jpg", "12_1_0_y.jpg", "5_0_0_x.jpg"])
    (extra / "20_0_0_a.jpg").write_bytes((folder / "20_0_0_a.jpg").read_bytes())  # already labelled
    labels = tmp_path / "labels.csv"
    write_smile_labels(labels, {NAMES[0]: 0.5, NAMES[1]: -0.5})
    faces = load_utkface(folder, labels, size=8, channels=3, conditions=("smile", "age"), cache_dir=None,
                         unlabeled_dir=extra, max_unlabeled=2)
    assert faces.names == NAMES[:2] + ["12_1_0_y.jpg", "5_0_0_x.jpg"]
    assert faces.labelled.tolist() == [True, True, False, False]
    assert faces.cond[2:, 0].tolist() == [0.0, 0.0] and faces.cond[2, 1].item() == pytest.approx(-0.76)
    assert "+ 2 unlabelled from" in faces.source


def test_clear_errors_for_missing_folder_and_unmatched_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    write_smile_labels(labels, {"a.png": 0.0})
    with pytest.raises(FacegenError, match="not found: pass --data DIR"):
        load_utkface(tmp_path / "none", labels, size=8, channels=3, cache_dir=None)
    folder = make_folder(tmp_path, ["b.png"])
    with pytest.raises(FacegenError, match="none of the 1 faces listed"):
        load_utkface(folder, labels, size=8, channels=3, cache_dir=None)
    with pytest.raises(FacegenError, match="--conditions"):
        load_utkface(folder, labels, size=8, channels=3, conditions=("smile", "race"), cache_dir=None)


def test_resolve_data_prefers_explicit_then_default_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = make_folder(tmp_path, NAMES)
    with pytest.raises(FacegenError, match="pass --labels FILE"):
        resolve_data(folder, None)
    write_smile_labels(tmp_path / "smiles_dataset.txt", {NAMES[0]: 0.0})
    assert resolve_data(folder, None) == ("utkface", folder, tmp_path / "smiles_dataset.txt")
    assert resolve_data(folder, Path("x.csv")) == ("utkface", folder, Path("x.csv"))
    assert resolve_data(folder, None, "celeba", attrs=Path("a.txt")) == ("celeba", folder, Path("a.txt"))
    (tmp_path / "data").mkdir()
    folder.rename(tmp_path / "data" / "UTKFace")
    (tmp_path / "smiles_dataset.txt").rename(tmp_path / "data" / "smiles_dataset.txt")
    assert resolve_data(None, None) == ("utkface", Path("data/UTKFace"), Path("data/smiles_dataset.txt"))
    with pytest.raises(FacegenError, match="--data"):
        resolve_data(None, None, "celeba")


@pytest.mark.data("utkface")
def test_the_real_labelled_utkface_faces(tmp_path, capsys):
    root = SHARED_DATA / "utkface"
    faces = load_dataset(data=root / "UTKFace", labels=root / "smiles_dataset.txt", size=32, channels=3,
                         conditions=["smile", "gender"], cache_dir=tmp_path, num_workers=2)
    assert len(faces) == 185 and faces.images.shape == (185, 3, 32, 32)
    assert faces.cond.abs().max() <= 1 and set(faces.cond[:, 1].tolist()) == {-1.0, 1.0}
    assert "me.png" in capsys.readouterr().err
    assert 60 < float(faces.images.float().mean()) < 200 and np.isfinite(faces.meta["age"].numpy()).all()


def test_age_condition_and_its_inverse():
    from facegen.data.utkface import age_condition, age_years

    for years in (0.0, 25.0, 50.0, 100.0):
        assert age_years(float(age_condition(years))) == pytest.approx(years)
    assert float(age_condition(0)) == -1 and float(age_condition(100)) == 1 and float(age_condition(120)) == 1
