"""Paired data: depth maps (sources) and face photos (targets), pixel aligned, for depth-to-face translation; and
the taught smile editor's lessons (a mouth patch and a target degree -> the exemplar editor's edit of it).

Four kinds of folder, all read into one :class:`FaceSet` (targets in ``images``, sources in ``sources``):

- a folder with ``pairs.csv`` (columns ``subject``, ``photo``, ``depth``, paths relative to the folder;
  optional ``gender`` m/f, ``age``), such as the Kinect pairs of ``shared/data/rap3df``;
- a folder with a depth subfolder and a photo subfolder (``depth/`` + ``photo/``, or ``A/`` + ``B/`` ...) whose
  files pair up by name (the extension may differ), each pair its own group;
- the toy pairs (``toyfaces``' ``images/`` + ``depth/``), drawn on first use; each toy face its own group;
- a folder with ``lessons.csv`` (columns ``face``, ``input``, ``target``, ``smile``; written by write_lessons.py):
  RGB sources, the target degree as the condition ``smile``, each face's lessons one group.

Depth maps are 8-bit grey, near = bright, 0 = no depth. ``meta["subject"]`` holds int group ids, so
``split_groups(faces.meta["subject"], ...)`` keeps a person out of both sides of a split.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.data.toyfaces import DEPTH_DIR, make_toy_dataset
from facegen.data.utkface import parse_utk_name

PAIRS_CSV = "pairs.csv"
LESSONS_CSV = "lessons.csv"
LESSON_COLUMNS = ("face", "input", "target", "smile")
DEPTH_FOLDERS = ("depth", "depths", "depth_maps", "source", "sources", "input", "inputs", "A")
PHOTO_FOLDERS = ("photo", "photos", "image", "images", "face", "faces", "target", "targets", "B")
GENDERS = {"m": 0, "male": 0, "f": 1, "female": 1}  # FaceSet's meta["gender"] codes
GREY_TOLERANCE = 3.0  # mean |R - G|, |G - B| above this (grey levels) means a colour image, not a depth map


def load_pairs(
    pairs: Path | None = None,
    *,
    size: int,
    cache_dir: Path | None,
    num_workers: int = 0,
    photo_channels: int = 3,
    toy_root: Path = Path("data/toyfaces"),
    toy_n: int = 3000,
) -> FaceSet:
    """The pairs in ``pairs`` (a folder with pairs.csv, or with depth and photo subfolders), or the toy pairs
    under ``toy_root`` when ``pairs`` is None; decoded at ``size`` px (photos RGB or grey, depth grey)."""
    if pairs is None:
        images_dir, _ = make_toy_dataset(Path(toy_root), n=toy_n)  # the same call as load_dataset's toy faces
        return load_toy_pairs(images_dir.parent, size=size, cache_dir=cache_dir, num_workers=num_workers,
                              photo_channels=photo_channels)
    pairs = Path(pairs)
    if not pairs.is_dir():
        raise FacegenError(f"pairs folder {pairs} not found: pass --pairs DIR holding depth/ and photo/ (or pairs.csv)")
    if (pairs / LESSONS_CSV).is_file():
        return load_lessons(pairs / LESSONS_CSV, size=size, cache_dir=cache_dir, num_workers=num_workers,
                            channels=photo_channels)
    if (pairs / PAIRS_CSV).is_file():
        return load_pairs_csv(pairs / PAIRS_CSV, size=size, cache_dir=cache_dir, num_workers=num_workers,
                              photo_channels=photo_channels)
    depth_paths, photo_paths = pair_folders(pairs)
    n = len(depth_paths)
    return decode_pairs(depth_paths, photo_paths, torch.arange(n), size=size, cache_dir=cache_dir,
                        num_workers=num_workers, photo_channels=photo_channels,
                        source=f"pairs: {n} depth -> photo pairs from {pairs} (no subjects: each pair its own group)")


def load_toy_pairs(root: Path, *, size: int, cache_dir: Path | None, num_workers: int = 0,
                   photo_channels: int = 3) -> FaceSet:
    """The toy dataset at ``root`` (see :func:`facegen.data.toyfaces.make_toy_dataset`) as pairs; every face
    is its own subject, and age / gender / race come from the file names."""
    root = Path(root)
    depth_paths, photo_paths = _match(root / DEPTH_DIR, list_images(root / DEPTH_DIR), root / "images",
                                      list_images(root / "images"))
    n = len(photo_paths)
    infos = [parse_utk_name(p.name) for p in photo_paths]
    meta = {
        "age": torch.tensor([i["age"] for i in infos], dtype=torch.float32),
        "gender": torch.tensor([i["gender"] for i in infos], dtype=torch.long),
        "race": torch.tensor([i["race"] for i in infos], dtype=torch.long),
    }
    return decode_pairs(depth_paths, photo_paths, torch.arange(n), size=size, cache_dir=cache_dir,
                        num_workers=num_workers, photo_channels=photo_channels, meta=meta,
                        source=f"toy pairs: {n} depth -> face pairs from {root} (each face its own subject)")


def load_pairs_csv(file: Path, *, size: int, cache_dir: Path | None, num_workers: int = 0,
                   photo_channels: int = 3) -> FaceSet:
    """The pairs listed in ``file`` (columns subject, photo, depth; optional gender, age)."""
    file = Path(file)
    rows = _read_rows(file, ("subject", "photo", "depth"), "--pairs DIR with a readable pairs.csv")
    folder = file.parent
    depth_paths = [folder / r["depth"] for r in rows]
    photo_paths = [folder / r["photo"] for r in rows]
    missing = [p for p in depth_paths + photo_paths if not p.is_file()]
    if missing:
        raise FacegenError(f"{file}: {len(missing)} listed files are missing (e.g. {missing[0]}): "
                           f"restore them or delete their rows")
    subjects = [r["subject"] for r in rows]
    ids = {s: i for i, s in enumerate(sorted(set(subjects)))}
    meta = {
        "gender": torch.tensor([GENDERS.get(r.get("gender", "").strip().lower(), -1) for r in rows]),
        "age": torch.tensor([_number(r.get("age", "")) for r in rows], dtype=torch.float32),
    }
    return decode_pairs(depth_paths, photo_paths, torch.tensor([ids[s] for s in subjects]), size=size,
                        cache_dir=cache_dir, num_workers=num_workers, photo_channels=photo_channels, meta=meta,
                        source=f"pairs: {len(rows)} depth -> photo pairs of {len(ids)} subjects "
                                            f"from {file}")


def load_lessons(file: Path, *, size: int, cache_dir: Path | None, num_workers: int = 0, channels: int = 3) -> FaceSet:
    """The lessons listed in ``file`` (columns face, input, target, smile; paths relative to its folder): inputs
    as ``sources``, targets as ``images``, the target degree as the condition ``smile``, ``meta["subject"]`` the
    face (so a face's lessons stay on one side of a split)."""
    file = Path(file)
    rows = _read_rows(file, LESSON_COLUMNS, "--pairs DIR with a readable lessons.csv (write_lessons.py)")
    folder = file.parent
    inputs, targets = [folder / r["input"] for r in rows], [folder / r["target"] for r in rows]
    missing = [p for p in inputs + targets if not p.is_file()]
    if missing:
        raise FacegenError(f"{file}: {len(missing)} listed files are missing (e.g. {missing[0]}): "
                           f"write the lessons again (write_lessons.py)")
    degrees = [_number(r["smile"]) for r in rows]
    bad = next((n for n, d in enumerate(degrees, start=2) if not -1 <= d <= 1), None)
    if bad is not None:
        raise FacegenError(f"{file} line {bad}: smile {rows[bad - 2]['smile']!r} is not a degree in -1..1: fix or "
                           f"delete that row")
    faces = [r["face"] for r in rows]
    ids = {f: i for i, f in enumerate(sorted(set(faces)))}
    n = len(rows)
    # each patch is the input of all its face's lessons and the target of one: every file is decoded once
    files = sorted(set(inputs + targets))
    at = {p: i for i, p in enumerate(files)}
    decoded = decode_images(files, size=size, channels=channels, cache_dir=cache_dir, num_workers=num_workers,
                            desc="lesson images")
    return FaceSet(
        images=decoded[[at[p] for p in targets]],
        cond=torch.tensor(degrees, dtype=torch.float32)[:, None],
        cond_names=["smile"],
        labelled=torch.ones(n, dtype=torch.bool),
        names=[p.name for p in targets],
        meta={"subject": torch.tensor([ids[f] for f in faces])},
        source=f"lessons: {n} taught edits of {len(ids)} mouth patches from {file}",
        sources=decoded[[at[p] for p in inputs]],
    )


def pair_folders(folder: Path) -> tuple[list[Path], list[Path]]:
    """(depth paths, photo paths) of ``folder``'s depth and photo subfolders, paired by file name (without
    extension) and sorted by it."""
    folder = Path(folder)
    depth_dir = next((folder / n for n in DEPTH_FOLDERS if (folder / n).is_dir()), None)
    photo_dir = next((folder / n for n in PHOTO_FOLDERS if (folder / n).is_dir()), None)
    if depth_dir is None or photo_dir is None:
        raise FacegenError(f"{folder} holds no {PAIRS_CSV} and no depth/ + photo/ subfolders (or "
                           f"{'/'.join(DEPTH_FOLDERS)} + {'/'.join(PHOTO_FOLDERS)}): pass --pairs DIR with them")
    return _match(depth_dir, list_images(depth_dir), photo_dir, list_images(photo_dir))


def decode_pairs(
    depth_paths: list[Path],
    photo_paths: list[Path],
    subjects: torch.Tensor,
    *,
    size: int,
    cache_dir: Path | None,
    num_workers: int = 0,
    photo_channels: int = 3,
    meta: dict[str, torch.Tensor] | None = None,
    source: str = "",
) -> FaceSet:
    """Check the pairs (:func:`check_pairs`) and decode them once (cached): photos into ``images``, depth maps
    into ``sources``; ``subjects`` (int (N,)) becomes ``meta["subject"]``."""
    check_pairs(depth_paths, photo_paths)
    n = len(photo_paths)
    images = decode_images(photo_paths, size=size, channels=photo_channels, cache_dir=cache_dir,
                           num_workers=num_workers, desc="photos")
    sources = decode_images(depth_paths, size=size, channels=1, cache_dir=cache_dir, num_workers=num_workers,
                            desc="depth maps")
    return FaceSet(
        images=images,
        cond=torch.zeros(n, 0),
        cond_names=[],
        labelled=torch.ones(n, dtype=torch.bool),
        names=[p.name for p in photo_paths],
        meta={**(meta or {}), "subject": torch.as_tensor(subjects, dtype=torch.long)},
        source=source,
        sources=sources,
    )


def check_pairs(depth_paths: list[Path], photo_paths: list[Path]) -> None:
    """Each depth map is grey (8 bits; or RGB with equal channels) and of its photo's size, else a one-line
    FacegenError. Reads the file headers only, and the pixels of depth maps stored in colour."""
    for depth, photo in zip(depth_paths, photo_paths, strict=True):
        d_size, p_size = check_depth_map(depth), _image_size(photo)
        if d_size != p_size:
            raise FacegenError(f"depth map {depth} is {d_size[0]}x{d_size[1]} but its photo {photo} is "
                               f"{p_size[0]}x{p_size[1]}: a pair must show the same crop at the same size")


def check_depth_map(path: Path) -> tuple[int, int]:
    """The size of the depth map at ``path`` after checking that it is an 8-bit grey image."""
    try:
        with Image.open(path) as im:
            if im.mode in ("L", "LA", "1"):
                return im.size
            if im.mode in ("RGB", "RGBA", "P", "PA"):
                rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
                spread = max(np.abs(rgb[..., 0] - rgb[..., 1]).mean(), np.abs(rgb[..., 1] - rgb[..., 2]).mean())
                if spread <= GREY_TOLERANCE:
                    return im.size
                raise FacegenError(f"depth map {path} is a colour image (its channels differ by {spread:.0f} "
                                   "grey levels on average): depth maps must be grey; are depth and photo swapped?")
            raise FacegenError(f"depth map {path} has pixel mode {im.mode}: save it as 8-bit grey "
                               "(near = bright, 0 = no depth)")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise FacegenError(f"cannot read depth map {path} ({e}): remove or replace the file") from None


def load_depth_maps(paths: list[Path], size: int) -> torch.Tensor:
    """A user's depth maps as floats in [0, 1] (N, 1, size, size), each checked: 8-bit grey, square, not flat."""
    for path in paths:
        w, h = check_depth_map(path)
        if w != h:
            raise FacegenError(f"depth map {path} is {w}x{h}: give square crops of the head, like the training "
                               f"pairs (they are resized to {size} px)")
    depth = decode_images(paths, size=size, channels=1, cache_dir=None)
    flat = depth.flatten(1).amin(1) == depth.flatten(1).amax(1)
    if flat.any():
        bad = paths[int(flat.nonzero()[0])]
        raise FacegenError(f"{bad} is one flat grey level: no depth map (near = bright, 0 = no depth) shows a "
                           f"head like that")
    return depth.float() / 255


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise FacegenError(f"cannot read photo {path} ({e}): remove or replace the file") from None


def _match(depth_dir: Path, depths: list[Path], photo_dir: Path, photos: list[Path]) -> tuple[list[Path], list[Path]]:
    """Pair the files of the two folders by name without extension; every file must have exactly one partner."""
    by_stem: list[dict[str, Path]] = []
    for folder, paths in ((depth_dir, depths), (photo_dir, photos)):
        stems: dict[str, Path] = {}
        for p in paths:
            if p.stem in stems:
                raise FacegenError(f"{folder} holds both {stems[p.stem].name} and {p.name}: keep one image per name")
            stems[p.stem] = p
        by_stem.append(stems)
    depth, photo = by_stem
    lonely = sorted((set(depth) - set(photo)) | (set(photo) - set(depth)))
    if lonely:
        example = depth[lonely[0]] if lonely[0] in depth else photo[lonely[0]]
        raise FacegenError(f"{depth_dir} and {photo_dir} do not pair up: {len(lonely)} files have no partner "
                           f"of the same name (e.g. {example}): give every depth map a photo of the same name")
    common = sorted(depth)
    return [depth[s] for s in common], [photo[s] for s in common]


def _read_rows(file: Path, columns: tuple[str, ...], fix: str) -> list[dict[str, str]]:
    """The rows of a csv file whose header must name ``columns``, none of them empty; ``fix``: what to pass when
    the file cannot be read."""
    named = ", ".join(columns)
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            lacking = [c for c in columns if c not in (reader.fieldnames or [])]
            if lacking:
                raise FacegenError(f"{file} line 1: no column {', '.join(lacking)}: the header must name {named}")
            rows = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    except OSError as e:
        raise FacegenError(f"cannot read {file} ({e.strerror}): pass {fix}") from None
    for number, r in enumerate(rows, start=2):
        if not all(r[c] for c in columns):
            raise FacegenError(f"{file} line {number}: empty {' or '.join(columns)}: fix or delete that row")
    if not rows:
        raise FacegenError(f"{file} lists no rows: add rows ({named}) or pass another --pairs DIR")
    return rows


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan
