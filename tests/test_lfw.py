"""The LFW source: file names -> people, faces.csv checked against the folder, the loader and the person split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.core.files import write_csv
from facegen.data.lfw import load_lfw, parse_lfw_name, person_names, read_lfw, split_by_person
from facegen.data.split import split_groups
from tests.fakes import LFW_FILES, LFW_PEOPLE, lfw_index_rows, make_lfw
from tests.helpers import SHARED_DATA


@pytest.mark.parametrize(
    ("name", "person", "number"),
    [
        ("Abdullah_al-Attiyah_0002.jpg", "Abdullah_al-Attiyah", 2),
        ("Jean-Pierre_Raffarin_0001.jpg", "Jean-Pierre_Raffarin", 1),
        ("AJ_Cook_0001.jpg", "AJ_Cook", 1),
        ("Madonna_0012.png", "Madonna", 12),
        ("John_Paul_II_0010.jpg", "John_Paul_II", 10),
    ],
)
def test_person_is_the_name_without_its_trailing_number(name, person, number):
    assert parse_lfw_name(name) == (person, number)


@pytest.mark.parametrize("name", ["Madonna.jpg", "_0001.jpg", "Madonna_01a.jpg", "0001.jpg"])
def test_names_without_a_person_and_number_are_one_line_errors(name):
    with pytest.raises(FacegenError, match="not an LFW file name") as err:
        parse_lfw_name(name)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("with_index", [True, False])
def test_loads_the_faces_with_their_people(tmp_path, with_index):
    root = make_lfw(tmp_path / "lfw", with_index)
    faces = load_lfw(root, size=32, channels=3, cache_dir=None)
    assert faces.names == sorted(LFW_FILES) and len(faces) == 7
    assert faces.images.shape == (7, 3, 32, 32) and faces.images.dtype == torch.uint8
    assert faces.cond.shape == (7, 0) and faces.cond_names == [] and faces.labelled.all()
    assert person_names(faces.names) == LFW_PEOPLE
    assert faces.meta["person"].dtype == torch.int64
    assert [LFW_PEOPLE[i] for i in faces.meta["person"].tolist()] == [parse_lfw_name(n)[0] for n in faces.names]
    assert faces.meta["person"].tolist() == [0, 1, 1, 1, 2, 2, 3]
    assert torch.isnan(faces.meta["age"]).all() and (faces.meta["gender"] == -1).all()
    colours = faces.images.float().mean((2, 3))
    assert torch.allclose(colours, torch.tensor([LFW_FILES[n] for n in faces.names], dtype=torch.float32), atol=3)
    assert faces.source == f"LFW: 7 faces of 4 people from {root / 'lfwcrop_color_64'}"


def test_the_image_folder_itself_max_images_grey_and_the_cache(tmp_path):
    root = make_lfw(tmp_path / "lfw")
    faces = load_lfw(root / "lfwcrop_color_64", size=16, channels=1, cache_dir=tmp_path / "cache", max_images=4)
    assert faces.names == sorted(LFW_FILES)[:4] and faces.images.shape == (4, 1, 16, 16)
    assert faces.meta["person"].tolist() == [0, 1, 1, 1] and person_names(faces.names) == LFW_PEOPLE[:2]
    assert len(list((tmp_path / "cache").glob("faces-*.pt"))) == 1
    again = load_lfw(root, size=16, channels=1, cache_dir=tmp_path / "cache", max_images=4)
    assert torch.equal(again.images, faces.images)
    with pytest.raises(FacegenError, match="--max_images"):
        load_lfw(root, size=16, channels=1, cache_dir=None, max_images=0)


def test_split_by_person_keeps_every_person_on_one_side(tmp_path):
    faces = load_lfw(make_lfw(tmp_path / "lfw"), size=8, channels=3, cache_dir=None)
    for seed in range(6):
        train, val = split_by_person(faces, 0.25, seed)
        assert len(train) + len(val) == len(faces) and len(val) > 0
        assert set(train.meta["person"].tolist()).isdisjoint(val.meta["person"].tolist())
        assert len(set(val.meta["person"].tolist())) == 1  # a quarter of 4 people


def rewrite_index(root: Path, rows: list[list[object]], header: list[str] | None = None) -> None:
    write_csv(root / "faces.csv", header or ["file", "person", "image_no", "person_images"], rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows.__setitem__(0, [rows[0][0], "A_J_Cook", 1, 1]), "line 2: says A_J_Cook image 1 of 1"),
        (lambda rows: rows.__setitem__(1, [rows[1][0], rows[1][1], 1, 2]), "line 3: says .* of 2, but the folder"),
        (lambda rows: rows.__setitem__(6, [rows[6][0], "Madonna", 2, 1]), "line 8: says Madonna image 2"),
        (lambda rows: rows.append(["lfwcrop_color_64/Madonna_0002.jpg", "Madonna", 2, 1]), "line 9: .*not among"),
        (lambda rows: rows.pop(3), "lists 6 faces but .* holds 7 \\(Abdullah_al-Attiyah_0003.jpg is not listed"),
        (lambda rows: rows.__setitem__(3, rows[2]), "lists 7 faces but .* holds 7"),
        (lambda rows: rows.__setitem__(2, rows[2][:3]), "line 4: expected 4 fields"),
    ],
)
def test_an_index_that_disagrees_with_the_folder_is_a_one_line_error(tmp_path, change, message):
    root = make_lfw(tmp_path / "lfw")
    rows = lfw_index_rows()
    change(rows)
    rewrite_index(root, rows)
    with pytest.raises(FacegenError, match=message) as err:
        read_lfw(root)
    assert "\n" not in str(err.value)


def test_bad_folders_are_one_line_errors(tmp_path):
    with pytest.raises(FacegenError, match="LFW folder .* not found"):
        load_lfw(tmp_path / "none", size=8, channels=3, cache_dir=None)
    (tmp_path / "empty" / "lfwcrop_color_64").mkdir(parents=True)
    with pytest.raises(FacegenError, match="holds no images"):
        load_lfw(tmp_path / "empty", size=8, channels=3, cache_dir=None)
    root = make_lfw(tmp_path / "lfw")
    rewrite_index(root, lfw_index_rows(), ["file", "name", "image_no", "person_images"])
    with pytest.raises(FacegenError, match="line 1: expected the header"):
        read_lfw(root)
    (root / "faces.csv").unlink()
    Image.new("RGB", (8, 8)).save(root / "lfwcrop_color_64" / "group_photo.jpg")
    with pytest.raises(FacegenError, match="group_photo.jpg is not an LFW file name"):
        read_lfw(root)


@pytest.mark.data("lfw")
def test_the_real_lfw(tmp_path):
    root = SHARED_DATA / "lfw"
    paths, persons = read_lfw(root)  # checks faces.csv against all 13,233 file names
    assert len(paths) == 13233 and len(set(persons)) == 5749
    assert sum(n >= 2 for n in Counter(persons).values()) == 1680
    ids = {p: i for i, p in enumerate(sorted(set(persons)))}
    groups = torch.tensor([ids[p] for p in persons])
    train, val = split_groups(groups, 0.1, seed=0)
    assert len(train) + len(val) == 13233
    assert set(groups[train].tolist()).isdisjoint(groups[val].tolist())
    assert len(set(groups[val].tolist())) == round(5749 * 0.1)
    faces = load_lfw(root, size=32, channels=3, cache_dir=tmp_path, max_images=64)
    assert faces.images.shape == (64, 3, 32, 32) and faces.names[0] == "AJ_Cook_0001.jpg"
    assert 40 < faces.images.float().mean() < 200 and faces.images.float().std((1, 2, 3)).min() > 10  # no blanks
