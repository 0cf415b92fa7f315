"""Face datasets: pick one from the command-line flags and decode it into a :class:`FaceSet`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from facegen.core.errors import FacegenError
from facegen.data.cache import require_images
from facegen.data.celeba import load_celeba
from facegen.data.faceset import FaceSet
from facegen.data.lfw import load_lfw
from facegen.data.pairs import load_pairs
from facegen.data.toyfaces import make_toy_dataset
from facegen.data.utkface import load_utkface

DATASETS = ("auto", "utkface", "celeba", "lfw", "toy")
DEFAULT_IMAGES, DEFAULT_LABELS = Path("data/UTKFace"), Path("data/smiles_dataset.txt")
LABEL_NAMES = ("smiles_dataset.txt", "labels.csv")
ATTR_NAMES = ("list_attr_celeba.txt",)


def resolve_data(
    data: Path | None,
    labels: Path | None,
    dataset: str = "auto",
    toy_root: Path = Path("data/toyfaces"),
    attrs: Path | None = None,
    toy_n: int = 3000,
) -> tuple[str, Path, Path]:
    """(kind, images_dir, labels_or_attrs_file) with kind "utkface", "celeba", "lfw" or "toy".

    LFW (``--dataset lfw``) needs ``data`` and has no labels file (its file is ``data`` itself). An explicit
    ``data`` wins; without it, ``data/UTKFace`` + ``data/smiles_dataset.txt`` when both
    exist, else the toy faces under ``toy_root`` (drawn on first use, saying so in one line).
    """
    if dataset not in DATASETS:
        raise FacegenError(f"unknown dataset {dataset!r}: pass --dataset one of {', '.join(DATASETS)}")
    if data is not None:
        if dataset == "toy":
            raise FacegenError("--dataset toy draws its own faces: drop --data, or pick another --dataset")
        data = Path(data)
        if dataset == "lfw":
            if labels is not None or attrs is not None:
                raise FacegenError("LFW has no labels: drop --labels / --attrs with --dataset lfw")
            return "lfw", data, data
        require_images(data)  # the images first: an empty folder is not a missing label file
        if dataset == "celeba" or (dataset == "auto" and attrs is not None):
            return "celeba", data, Path(attrs or labels or _find_beside(data, ATTR_NAMES, "--attrs FILE"))
        return "utkface", data, Path(labels or _find_beside(data, LABEL_NAMES, "--labels FILE"))
    if labels is not None or attrs is not None:
        raise FacegenError("--labels / --attrs need the images too: pass --data DIR")
    if dataset == "lfw":
        raise FacegenError("LFW has no default folder: pass --data DIR (the folder holding lfwcrop_color_64/)")
    if dataset == "celeba":
        raise FacegenError("CelebA has no default folder: pass --data DIR (img_align_celeba), --attrs FILE")
    if dataset != "toy" and DEFAULT_IMAGES.is_dir() and DEFAULT_LABELS.is_file():
        return "utkface", DEFAULT_IMAGES, DEFAULT_LABELS
    if dataset == "utkface":
        raise FacegenError(f"no {DEFAULT_IMAGES} with {DEFAULT_LABELS}: pass --data DIR and --labels FILE")
    images_dir, labels_file = make_toy_dataset(Path(toy_root), n=toy_n)
    return "toy", images_dir, labels_file


def load_dataset(
    *,
    dataset: str = "auto",
    data: Path | None = None,
    labels: Path | None = None,
    attrs: Path | None = None,
    size: int = 64,
    channels: int = 3,
    conditions: Sequence[str] = ("smile",),
    cache_dir: Path | None = Path("data/cache"),
    num_workers: int = 0,
    unlabeled: Path | None = None,
    max_unlabeled: int | None = None,
    max_images: int | None = None,
    toy_root: Path = Path("data/toyfaces"),
    toy_n: int = 3000,
    paired: bool = False,
    pairs: Path | None = None,
) -> FaceSet:
    """Resolve the flags (see :func:`resolve_data`), decode the faces and print which data is used.

    For CelebA, ``conditions`` holds at most one attribute name (``smile`` means Smiling). LFW has no labels, so
    its ``conditions`` must be empty; its faces carry ``meta["person"]``, by which :class:`DataSpec` splits them.
    With ``paired`` the
    faces are depth -> photo pairs (:func:`facegen.data.pairs.load_pairs`): those in ``pairs``, or the toy pairs
    under ``toy_root``; their depth maps are the FaceSet's ``sources``.
    """
    if paired:
        faces = load_pairs(pairs, size=size, cache_dir=cache_dir, num_workers=num_workers, photo_channels=channels,
                           toy_root=toy_root, toy_n=toy_n)
        print(f"data: {faces.source}")
        return faces
    kind, images_dir, file = resolve_data(data, labels, dataset, toy_root, attrs, toy_n)
    if kind == "lfw":
        if conditions or unlabeled is not None:
            raise FacegenError(f"LFW has no labels, so no --conditions ({','.join(conditions) or '--unlabeled'}): "
                               "train an unconditional model on it, or use UTKFace / CelebA for conditions")
        faces = load_lfw(images_dir, size=size, channels=channels, cache_dir=cache_dir, num_workers=num_workers,
                         max_images=max_images)
    elif kind == "celeba":
        if len(conditions) > 1 or unlabeled is not None:
            raise FacegenError("CelebA takes one attribute as condition and no --unlabeled: adjust the flags")
        faces = load_celeba(images_dir, file, size=size, channels=channels,
                            condition=conditions[0] if conditions else None, cache_dir=cache_dir,
                            num_workers=num_workers, max_images=max_images)
    else:
        faces = load_utkface(images_dir, file, size=size, channels=channels, conditions=conditions,
                             cache_dir=cache_dir, num_workers=num_workers, unlabeled_dir=unlabeled,
                             max_unlabeled=max_unlabeled, name="toy faces" if kind == "toy" else "UTKFace")
    print(f"data: {faces.source}")
    return faces


def _find_beside(data: Path, names: Sequence[str], flag: str) -> Path:
    """The first of ``names`` inside ``data`` or next to it."""
    for folder in (data, data.parent):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    raise FacegenError(f"no {' or '.join(names)} inside or next to {data}: pass {flag}")
