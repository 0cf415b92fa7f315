"""Unpaired face photos for the adversarial side of depth-to-face translation (``--unpaired DIR_OR_DATASET``).

``toy`` draws a second set of toy faces (another seed, so other faces than the toy pairs') beside the toy
pairs; a folder is read as UTKFace, LFW or CelebA when it holds their image folder (``UTKFace/``,
``lfwcrop_color_64/``, ``img_align_celeba/``), else as the images directly inside it. No labels are read:
only the photos matter. They are decoded once (cached) like every other image set.
"""

from __future__ import annotations

from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.data.toyfaces import make_toy_dataset

TOY = "toy"
TOY_SEED = 1  # the toy pairs are drawn with seed 0
KNOWN_FOLDERS = ("UTKFace", "lfwcrop_color_64", "img_align_celeba")


def unpaired_arg(text: str) -> str:
    """The --unpaired value as recorded: ``toy`` or an absolute folder path (so the run works from anywhere)."""
    return TOY if text == TOY else str(Path(text).resolve())


def images_folder(folder: Path) -> Path:
    """The folder that holds the photos: a known dataset's image folder inside ``folder``, or ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FacegenError(f"--unpaired {folder}: no such folder; pass a folder of face photos (UTKFace, LFW, "
                           f"CelebA or your own) or 'toy'")
    return next((folder / name for name in KNOWN_FOLDERS if (folder / name).is_dir()), folder)


def load_unpaired(what: str, *, size: int, channels: int, cache_dir: Path | None, num_workers: int = 0,
                  toy_root: Path = Path("data/toyfaces"), toy_n: int = 3000) -> FaceSet:
    """The unpaired photos ``what`` names (``toy`` or a folder), uint8 (N, channels, size, size)."""
    if what == TOY:
        root = Path(toy_root).with_name(Path(toy_root).name + "_unpaired")
        folder, _ = make_toy_dataset(root, n=toy_n, seed=TOY_SEED)
    else:
        folder = images_folder(Path(what))
    paths = list_images(folder)
    images = decode_images(paths, size=size, channels=channels, cache_dir=cache_dir, num_workers=num_workers,
                           desc="unpaired faces")
    n = len(paths)
    return FaceSet(images=images, cond=torch.zeros(n, 0), cond_names=[], labelled=torch.zeros(n, dtype=torch.bool),
                   names=[p.name for p in paths], source=f"{n} unpaired faces from {folder}")
