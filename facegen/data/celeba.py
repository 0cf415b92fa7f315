"""Aligned CelebA: ``img_align_celeba/*.jpg`` plus ``list_attr_celeba.txt`` (40 binary attributes)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from facegen.core.errors import FacegenError
from facegen.core.textfile import read_text
from facegen.data.cache import decode_images
from facegen.data.faceset import FaceSet

# The usual face crop of the aligned 178 x 218 images: a 148 x 148 box at (15, 40), as fractions so
# that copies stored at another scale (e.g. half size, 89 x 109) crop the same region.
FACE_CROP = (15 / 178, 40 / 218, 163 / 178, 188 / 218)
ALIASES = {"smile": "Smiling"}  # the project's condition names that CelebA spells differently
PARTITIONS = {"0": 0, "1": 1, "2": 2}  # train, val, test


def read_celeba_attrs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, image file names, int8 (N, K) array of +1 / -1) from ``list_attr_celeba.txt``."""
    lines = _read_lines(path, "attribute", "--attrs FILE (list_attr_celeba.txt)")
    if not lines or not lines[0].strip().isdigit():
        raise FacegenError(f"{path} line 1: expected the number of images: pass CelebA's list_attr_celeba")
    if len(lines) < 2 or not lines[1].split():
        raise FacegenError(f"{path} line 2: expected the attribute names: pass CelebA's list_attr_celeba")
    count, names = int(lines[0]), lines[1].split()
    files, rows = [], []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if fields[0] in first_line:
            raise FacegenError(f"{path} line {number}: {fields[0]} is listed twice (first on line "
                               f"{first_line[fields[0]]}): keep one of its rows")
        first_line[fields[0]] = number
        if len(fields) != len(names) + 1:
            raise FacegenError(
                f"{path} line {number}: expected a file name and {len(names)} values, "
                f"found {len(fields)} fields: fix or delete that row"
            )
        if not set(fields[1:]) <= {"1", "-1"}:
            raise FacegenError(f"{path} line {number}: values must be 1 or -1: fix or delete that row")
        files.append(fields[0])
        rows.append(fields[1:])
    if len(files) != count:
        raise FacegenError(f"{path}: line 1 says {count} images but {len(files)} rows follow: fix line 1")
    attrs = np.array(rows, dtype=np.int8).reshape(len(rows), len(names))
    return names, files, attrs


def read_celeba_partition(path: Path) -> dict[str, int]:
    """File name -> 0 train / 1 val / 2 test, from ``list_eval_partition.txt``."""
    partition = {}
    for number, line in enumerate(_read_lines(path, "partition", "list_eval_partition.txt"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in PARTITIONS:
            raise FacegenError(f"{path} line {number}: expected 'FILE 0|1|2': fix or delete that row")
        if fields[0] in partition:
            raise FacegenError(f"{path} line {number}: {fields[0]} is listed twice: keep one of its rows")
        partition[fields[0]] = PARTITIONS[fields[1]]
    return partition


def normalize_attr_name(name: str, valid: list[str]) -> str:
    """The attribute of ``valid`` that ``name`` means, ignoring case and underscores; ``smile`` is Smiling."""
    def key(s: str) -> str:
        return s.lower().replace("_", "").replace("-", "").replace(" ", "")

    by_key = {key(v): v for v in valid}
    wanted = key(ALIASES.get(name.lower(), name))
    if wanted not in by_key:
        raise FacegenError(f"unknown CelebA attribute {name!r}: use one of {', '.join(valid)} (any case)")
    return by_key[wanted]


def load_celeba(
    images_dir: Path,
    attrs_file: Path,
    *,
    size: int,
    channels: int,
    condition: str | None,
    cache_dir: Path | None,
    num_workers: int = 0,
    max_images: int | None = None,
    partition_file: Path | None = None,
) -> FaceSet:
    """The first ``max_images`` (default all) faces of the attribute file, face-cropped.

    ``condition`` (an attribute name) becomes the one -1 / +1 condition column; ``None`` gives no
    condition. ``meta["gender"]`` follows the Male attribute when present.
    """
    names, files, attrs = read_celeba_attrs(attrs_file)
    if max_images is not None:
        files, attrs = files[:max_images], attrs[:max_images]
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FacegenError(f"image folder {images_dir} not found: pass --data DIR (CelebA img_align_celeba)")
    present = set(os.listdir(images_dir))
    missing = [f for f in files if f not in present]
    if missing:
        raise FacegenError(
            f"{len(missing)} of the {len(files)} images listed in {attrs_file} are missing from {images_dir} "
            f"(first: {missing[0]}): pass --data DIR with the folder holding them"
        )
    n = len(files)
    if condition is None:
        cond, cond_names = torch.zeros(n, 0), []
    else:
        attr = normalize_attr_name(condition, names)
        column = attrs[:, names.index(attr)]
        if (column > 0).all() or (column < 0).all():
            raise FacegenError(f"attribute {attr} is {'+1' if column[0] > 0 else '-1'} for every face in "
                               f"{attrs_file}: pick another condition or use more images")
        cond, cond_names = torch.from_numpy(column.astype(np.float32))[:, None], [attr]
    male = attrs[:, names.index("Male")] if "Male" in names else None
    meta = {
        "attrs": torch.from_numpy(attrs),
        "age": torch.full((n,), math.nan),
        "gender": torch.from_numpy(np.where(male > 0, 0, 1)) if male is not None else torch.full((n,), -1),
        "race": torch.full((n,), -1),
    }
    if partition_file is not None:
        partition = read_celeba_partition(partition_file)
        unsplit = [f for f in files if f not in partition]
        if unsplit:
            raise FacegenError(f"{len(unsplit)} images (first: {unsplit[0]}) are not in {partition_file}: "
                               "pass the list_eval_partition.txt that matches the attribute file")
        meta["partition"] = torch.tensor([partition[f] for f in files], dtype=torch.long)
    images = decode_images([images_dir / f for f in files], size=size, channels=channels, crop=FACE_CROP,
                           cache_dir=cache_dir, num_workers=num_workers)
    where = f", condition {cond_names[0]}" if cond_names else ""
    return FaceSet(
        images=images,
        cond=cond,
        cond_names=cond_names,
        labelled=torch.ones(n, dtype=torch.bool),
        names=files,
        meta=meta,
        attr_names=names,
        source=f"CelebA: {n} faces from {images_dir} (attributes {attrs_file}{where})",
    )


def _read_lines(path: Path, what: str, flag: str) -> list[str]:
    try:
        return read_text(path).splitlines()
    except FileNotFoundError:
        raise FacegenError(f"CelebA {what} file {path} not found: pass {flag}") from None
    except OSError as e:
        raise FacegenError(f"cannot read CelebA {what} file {path} ({e}): pass {flag}") from None
