"""The user's own face photos, checked and prepared the way a run's training faces were."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data.cache import MIN_SIDE, decode_images, load_upright

MIN_PHOTO_SIDE = MIN_SIDE  # the training faces' minimum too
MAX_ASPECT = 2.0


def load_photos(paths: Sequence[Path], size: int, channels: int) -> torch.Tensor:
    """Photos as floats in [0, 1] (N, channels, size, size): centre square, resized (antialiased). A missing,
    unreadable or not face-shaped file is a one-line error naming it."""
    for path in paths:
        if not Path(path).is_file():
            raise FacegenError(f"image {path} not found: give paths of face photos (jpg or png)")
        try:
            with Image.open(path) as im:
                w, h = im.size
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise FacegenError(f"cannot read image {path} ({type(e).__name__}): give a face photo (jpg, png)") from None
        if min(w, h) < MIN_PHOTO_SIDE or max(w, h) > MAX_ASPECT * min(w, h):
            raise FacegenError(f"{path} is {w}x{h} px, not a face-sized picture: give a photo at least "
                               f"{MIN_PHOTO_SIDE} px on each side, at most {MAX_ASPECT:g} times as long as wide")
    return decode_images(list(paths), size=size, channels=channels, cache_dir=None).float() / 255


def read_photo(path: Path, name: str | None = None) -> torch.Tensor:
    """A whole RGB photo (3, H, W) in [0, 1] at its own size, decoded as the training faces are (upright by its
    EXIF orientation, 16-bit grey scaled, transparency on white: :func:`facegen.data.cache.load_upright`); a
    one-line error naming it (``name``, default the path) for a file that is not a readable image or is too small
    to hold a face."""
    name = name or str(path)
    rgb = np.asarray(load_upright(path, "RGB", name))
    if min(rgb.shape[:2]) < MIN_PHOTO_SIDE:
        raise FacegenError(f"{name} is {rgb.shape[1]}x{rgb.shape[0]} px: too small to hold a face to edit")
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255
