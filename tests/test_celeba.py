"""CelebA: the attribute file, attribute names and the face-cropping loader on a tiny synthetic layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data.celeba import load_celeba, normalize_attr_name, read_celeba_attrs, read_celeba_partition
from tests.helpers import SHARED_DATA

NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
N = 5


def attr_text(rows: list[str], count: int | None = None) -> str:
    return f"{len(rows) if count is None else count}\n{' '.join(NAMES)} \n" + "".join(r + "\n" for r in rows)


def attr_rows(n: int = N) -> tuple[list[str], np.ndarray]:
    values = np.where(np.random.default_rng(0).random((n, 40)) < 0.5, -1, 1)
    values[:, NAMES.index("Smiling")] = [1, -1] * (n // 2) + [1] * (n % 2)
    values[:, NAMES.index("Bald")] = -1
    return [f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in row) for i, row in enumerate(values)], values


@pytest.fixture
def celeba(tmp_path) -> tuple[Path, Path, np.ndarray]:
    """A half-size aligned-CelebA layout: 89 x 109 images whose face box (the usual crop) is white."""
    images = tmp_path / "img_align_celeba"
    images.mkdir()
    for i in range(N):
        img = np.zeros((109, 89, 3), np.uint8)
        img[20:94, 8:81] = 255  # the 148 x 148 box at (15, 40) of 178 x 218, halved
        Image.fromarray(img).save(images / f"{i + 1:06d}.jpg", quality=95)
    rows, values = attr_rows()
    attrs = tmp_path / "list_attr_celeba.txt"
    attrs.write_text(attr_text(rows))
    return images, attrs, values


def test_reads_attributes(celeba):
    _, attrs, values = celeba
    names, files, table = read_celeba_attrs(attrs)
    assert names == NAMES and files == [f"{i + 1:06d}.jpg" for i in range(N)]
    assert table.dtype == np.int8 and table.shape == (N, 40) and (table == values).all()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("five\nA B\n", "line 1"),
        ("1\n", "line 2"),
        ("1\nA B\n1.jpg 1\n", "line 3: expected a file name and 2 values"),
        ("2\nA B\n1.jpg 1 -1\n2.jpg 1 0\n", "line 4: values must be 1 or -1"),
        ("3\nA B\n1.jpg 1 -1\n", "says 3 images but 1 rows follow"),
    ],
)
def test_bad_attribute_files(tmp_path, text, words):
    path = tmp_path / "attrs.txt"
    path.write_text(text)
    with pytest.raises(FacegenError) as err:
        read_celeba_attrs(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_missing_attribute_file(tmp_path):
    with pytest.raises(FacegenError, match="not found: pass --attrs"):
        read_celeba_attrs(tmp_path / "none.txt")


@pytest.mark.parametrize("name", ["Smiling", "smiling", "SMILING", "smile", "Smile"])
def test_attribute_name_normalisation(name):
    assert normalize_attr_name(name, NAMES) == "Smiling"


def test_attribute_name_forms_and_unknown_names():
    assert normalize_attr_name("wearing hat", NAMES) == "Wearing_Hat"
    assert normalize_attr_name("5oclockshadow", NAMES) == "5_o_Clock_Shadow"
    assert normalize_attr_name("mouthslightlyopen", NAMES) == "Mouth_Slightly_Open"
    with pytest.raises(FacegenError, match="unknown CelebA attribute 'beard'.*No_Beard"):
        normalize_attr_name("beard", NAMES)


def test_loads_cropped_faces_with_a_condition(celeba, tmp_path):
    images, attrs, values = celeba
    (tmp_path / "partition.txt").write_text("".join(f"{i + 1:06d}.jpg {i % 3}\n" for i in range(N)))
    faces = load_celeba(images, attrs, size=16, channels=3, condition="smile", cache_dir=tmp_path / "cache",
                        partition_file=tmp_path / "partition.txt")
    assert faces.images.shape == (N, 3, 16, 16) and faces.images.dtype == torch.uint8
    assert faces.images[:, :, 1:-1, 1:-1].min() > 235  # only the white face box survives the crop
    assert faces.cond_names == ["Smiling"] and faces.cond[:, 0].tolist() == [1, -1, 1, -1, 1]
    assert faces.attr_names == NAMES and faces.meta["attrs"].dtype == torch.int8
    assert (faces.meta["attrs"].numpy() == values).all() and faces.labelled.all()
    assert faces.meta["gender"].tolist() == [0 if m > 0 else 1 for m in values[:, NAMES.index("Male")]]
    assert faces.meta["partition"].tolist() == [0, 1, 2, 0, 1] and "CelebA: 5 faces" in faces.source


def test_no_condition_and_max_images(celeba):
    images, attrs, _ = celeba
    faces = load_celeba(images, attrs, size=8, channels=1, condition=None, cache_dir=None, max_images=3)
    assert faces.cond.shape == (3, 0) and faces.cond_names == [] and faces.images.shape == (3, 1, 8, 8)


def test_loader_errors(celeba, tmp_path):
    images, attrs, _ = celeba
    with pytest.raises(FacegenError, match="Bald is -1 for every face"):
        load_celeba(images, attrs, size=8, channels=3, condition="bald", cache_dir=None)
    (images / "000002.jpg").unlink()
    with pytest.raises(FacegenError, match="1 of the 5 images .* missing .*000002.jpg.*--data"):
        load_celeba(images, attrs, size=8, channels=3, condition=None, cache_dir=None)
    (tmp_path / "partition.txt").write_text("000001.jpg 3\n")
    with pytest.raises(FacegenError, match="line 1"):
        read_celeba_partition(tmp_path / "partition.txt")


@pytest.mark.data("celeba")
def test_the_real_celeba_subset(tmp_path):
    root = SHARED_DATA / "celeba"
    faces = load_celeba(root / "img_align_celeba", root / "list_attr_celeba.txt", size=32, channels=3,
                        condition="Smiling", cache_dir=tmp_path, max_images=300)
    assert faces.images.shape == (300, 3, 32, 32) and faces.attr_names[0] == "5_o_Clock_Shadow"
    assert set(faces.cond[:, 0].tolist()) == {-1.0, 1.0}


def test_resize_defaults_to_64_for_celeba_and_to_the_studys_50_otherwise():
    from facegen.cli.args import resolve_resize
    from facegen.cli.training import training_parser
    from facegen.models.registry import model_class

    for flags, size in ((["--dataset", "celeba"], 64), (["--dataset", "toy"], 50), ([], 50),
                        (["--dataset", "celeba", "--resize", "32"], 32)):
        args = training_parser(model_class("vae")).parse_args(flags)
        resolve_resize(args)
        assert args.resize == size, flags
