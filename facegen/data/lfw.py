"""Labeled Faces in the Wild as LFWcrop-style crops: ``lfwcrop_color_64/Person_Name_NNNN.jpg`` plus ``faces.csv``.

The person is the file name without its trailing ``_NNNN`` (names may hold ``-`` and ``_``). ``faces.csv``
(``file,person,image_no,person_images``, ``file`` relative to the csv's folder) is optional; when present it
lists the faces and must agree with the folder and the file names.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.data.split import split_groups

IMAGES_DIR = "lfwcrop_color_64"
INDEX_FILE = "faces.csv"
INDEX_HEADER = ("file", "person", "image_no", "person_images")
_NAME = re.compile(r"(.+)_(\d+)")


def parse_lfw_name(file_name: str) -> tuple[str, int]:
    """(person, image number) of an LFW file name: ``Abdullah_al-Attiyah_0002.jpg`` -> ("Abdullah_al-Attiyah", 2)."""
    match = _NAME.fullmatch(Path(file_name).stem)
    if match is None:
        raise FacegenError(f"{file_name} is not an LFW file name (Person_Name_NNNN.jpg): rename or remove it")
    return match.group(1), int(match.group(2))


def person_names(file_names: list[str]) -> list[str]:
    """The people of these LFW files, sorted: entry i is the person whose ``meta["person"]`` id is i in the
    FaceSet that :func:`load_lfw` returned with these names."""
    return sorted({parse_lfw_name(n)[0] for n in file_names})


def read_lfw(folder: Path) -> tuple[list[Path], list[str]]:
    """(image paths sorted by file name, each one's person), without decoding anything.

    ``folder`` is the LFW folder holding ``lfwcrop_color_64/`` (and ``faces.csv``), or the image folder itself
    (``faces.csv`` is then looked for in it and beside it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FacegenError(f"LFW folder {folder} not found: pass --data DIR with {IMAGES_DIR}/ (and {INDEX_FILE})")
    images_dir = folder / IMAGES_DIR if (folder / IMAGES_DIR).is_dir() else folder
    paths = list_images(images_dir)
    persons = [parse_lfw_name(p.name)[0] for p in paths]
    index = next((f for f in (folder / INDEX_FILE, images_dir.parent / INDEX_FILE) if f.is_file()), None)
    if index is not None:
        _check_index(index, paths, persons)
    return paths, persons


def load_lfw(
    folder: Path,
    *,
    size: int,
    channels: int,
    cache_dir: Path | None,
    num_workers: int = 0,
    max_images: int | None = None,
) -> FaceSet:
    """The first ``max_images`` (default all) LFW faces in file-name order, decoded once (cached in ``cache_dir``).

    No conditions (K = 0, so every face counts as labelled). ``meta["person"]`` is an int64 id per face, the
    position of its person in :func:`person_names` of the loaded names; age, gender and race are unknown.
    """
    paths, persons = read_lfw(folder)
    if max_images is not None:
        if max_images < 1:
            raise FacegenError(f"--max_images must be at least 1, not {max_images}")
        paths, persons = paths[:max_images], persons[:max_images]
    people = sorted(set(persons))
    ids = {person: i for i, person in enumerate(people)}
    n = len(paths)
    images = decode_images(paths, size=size, channels=channels, cache_dir=cache_dir, num_workers=num_workers,
                           desc="decoding LFW")
    return FaceSet(
        images=images,
        cond=torch.zeros(n, 0),
        cond_names=[],
        labelled=torch.ones(n, dtype=torch.bool),
        names=[p.name for p in paths],
        meta={
            "person": torch.tensor([ids[p] for p in persons], dtype=torch.long),
            "age": torch.full((n,), math.nan),
            "gender": torch.full((n,), -1, dtype=torch.long),
            "race": torch.full((n,), -1, dtype=torch.long),
        },
        source=f"LFW: {n} faces of {len(people)} people from {paths[0].parent}",
    )


def split_by_person(faces: FaceSet, val_fraction: float, seed: int) -> tuple[FaceSet, FaceSet]:
    """A fixed (per seed) train / validation split of whole people (``meta["person"]``): nobody is on both sides.
    ``val_fraction`` is the share of people, not of faces."""
    train, val = split_groups(faces.meta["person"], val_fraction, seed)
    return faces.subset(train), faces.subset(val)


def person_classes(faces: FaceSet, val_fraction: float, seed: int) -> FaceSet:
    """The faces with their person as the one condition column: an identity net's class targets.

    The people :func:`split_groups` keeps for training (the split :func:`split_by_person` and the runs use)
    are numbered 0 .. T-1 in id order, the held-out people T, T+1, ... after them; so a classifier over the
    training people has T outputs and a class number >= T means "a person it never saw".
    """
    if "person" not in faces.meta:
        raise FacegenError(f"{faces.source} does not say who is in each photo: an identity net trains on "
                           f"--dataset lfw --data DIR")
    person = faces.meta["person"]
    train, _ = split_groups(person, val_fraction, seed)
    seen = torch.unique(person[train])
    unseen = torch.unique(person)[~torch.isin(torch.unique(person), seen)]
    number = torch.full((int(person.max()) + 1,), -1, dtype=torch.long)
    number[torch.cat([seen, unseen])] = torch.arange(len(seen) + len(unseen))
    return replace(faces, cond=number[person].float()[:, None], cond_names=["person"],
                   labelled=torch.ones(len(faces), dtype=torch.bool))


def _check_index(index: Path, paths: list[Path], persons: list[str]) -> None:
    """A one-line FacegenError unless ``index`` lists exactly ``paths`` with the persons, image numbers and
    per-person counts their file names give."""
    rows = _read_index(index)
    by_path = {os.path.abspath(p): (p.name, person) for p, person in zip(paths, persons, strict=True)}
    counts = Counter(persons)
    listed = set()
    for number, row in rows:
        where = f"{index} line {number}"
        key = os.path.abspath(index.parent / row["file"])
        if key not in by_path:
            raise FacegenError(f"{where}: {row['file']} is not among the images in {paths[0].parent}: pass the "
                               f"{INDEX_FILE} that matches the folder, or remove it")
        name, person = by_path[key]
        image_no = parse_lfw_name(name)[1]
        if row["person"] != person or row["image_no"] != str(image_no) or row["person_images"] != str(counts[person]):
            raise FacegenError(
                f"{where}: says {row['person']} image {row['image_no']} of {row['person_images']}, but the folder "
                f"has {person} image {image_no} of {counts[person]}: fix that row, or remove {index}"
            )
        listed.add(key)
    if len(listed) != len(rows) or len(listed) != len(paths):
        unlisted = next((p.name for p in paths if os.path.abspath(p) not in listed), None)
        what = f"{unlisted} is not listed" if unlisted else "some file is listed twice"
        raise FacegenError(f"{index} lists {len(rows)} faces but {paths[0].parent} holds {len(paths)} ({what}): "
                           f"pass the {INDEX_FILE} that matches the folder, or remove it")


def _read_index(index: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of each data row of ``faces.csv``, the header checked."""
    try:
        with index.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != INDEX_HEADER:
                raise FacegenError(f"{index} line 1: expected the header {','.join(INDEX_HEADER)}: fix it, "
                                   "or remove the file")
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise FacegenError(f"cannot read {index} ({e}): fix or remove it") from None
    bad = next(((n, r) for n, r in rows if None in r.values() or None in r), None)
    if bad is not None:
        raise FacegenError(f"{index} line {bad[0]}: expected {len(INDEX_HEADER)} fields: fix or delete that row")
    return rows
