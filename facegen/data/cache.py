"""Decode face images once into one uint8 tensor: in parallel, antialiased, with an optional disk cache.

Every image is decoded the way a viewer shows it: turned upright by its EXIF orientation; 16-bit greyscale
scaled to 8 bits (v -> round(v / 257), so 65535 -> 255); palette and CMYK images through their colours
(CMYK: R = 255 (1 - C/255)(1 - K/255), likewise G, B); transparent pixels composited on white
(out = a rgb + (1 - a) 255, a = alpha / 255). Images under MIN_SIDE pixels on a side are refused.

The cache file is keyed on every image's absolute path, size and modification time plus the decode
settings, so changing any image or setting simply misses the cache and decodes afresh. It stores the
sha256 of the tensor's bytes; a file whose bytes no longer match (a damaged disk or copy) is rebuilt.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps
from tqdm import tqdm

from facegen.core.errors import FacegenError
from facegen.core.files import remove_stale_temporaries

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
FORMAT_VERSION = 2  # 2: EXIF orientation, 16-bit grey, alpha on white, sha256 in the file
MIN_SIDE = 32  # pixels: a smaller image is no face photo (an icon, a thumbnail, a broken export)
BACKGROUND = 255  # what transparent pixels are composited on: white, as a viewer shows them
WIDE_GREY = ("I", "I;16", "I;16L", "I;16B", "I;16N")  # 16-bit greyscale PNGs open as one of these
TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
REDUCING_GAP = 2.0  # Image.reduce stops at >= 2x the target size, then a Lanczos resize finishes
CHUNK = 32  # images per thread-pool task: fewer hand-offs between threads
Crop = tuple[float, float, float, float]


def list_images(folder: Path, fix: str = "pass --data DIR with a folder of face images") -> list[Path]:
    """The image files directly inside ``folder``, sorted by name (hidden files skipped); ``fix`` ends the one-line
    error for a missing or empty folder (the flag the calling script takes)."""
    paths = sorted(_images_in(folder, fix))
    if not paths:
        raise FacegenError(f"image folder {folder} holds no images ({' '.join(IMAGE_SUFFIXES)}): {fix}")
    return paths


def require_images(folder: Path, fix: str = "pass --data DIR with a folder of face images") -> None:
    """:func:`list_images`'s one-line error for a missing or imageless ``folder``, without listing it all."""
    if next(_images_in(folder, fix), None) is None:
        raise FacegenError(f"image folder {folder} holds no images ({' '.join(IMAGE_SUFFIXES)}): {fix}")


def _images_in(folder: Path, fix: str) -> Iterator[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FacegenError(f"image folder {folder} not found: {fix}")
    return (folder / entry.name for entry in os.scandir(folder)
            if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(IMAGE_SUFFIXES))


def decode_images(
    paths: list[Path],
    *,
    size: int,
    channels: int,
    crop: Crop | None = None,
    cache_dir: Path | None,
    num_workers: int = 0,
    desc: str = "decoding",
) -> torch.Tensor:
    """uint8 (N, channels, size, size): each image cropped (fractions left, top, right, bottom of its
    width / height), centre-cropped to a square, resized with antialiasing and converted to RGB or L.

    ``num_workers <= 0`` uses every core; ``cache_dir=None`` disables the disk cache.
    """
    if channels not in (1, 3):
        raise FacegenError(f"channels must be 1 (--grayscale) or 3, not {channels}")
    if size < 1:
        raise FacegenError(f"--resize must be a positive number of pixels, not {size}")
    paths = [Path(p) for p in paths]
    cache_file = None
    if cache_dir is not None:
        key = _cache_key(paths, size, channels, crop)
        cache_file = Path(cache_dir) / f"faces-{key[:16]}.pt"
        cached = _load_cache(cache_file, (len(paths), channels, size, size))
        if cached is not None:
            return cached
    images = _decode_all(paths, size, channels, crop, num_workers, desc)
    if cache_file is not None:
        _save_cache(cache_file, images)
    return images


def _decode_all(
    paths: list[Path], size: int, channels: int, crop: Crop | None, num_workers: int, desc: str
) -> torch.Tensor:
    n = len(paths)
    out = np.empty((n, channels, size, size), dtype=np.uint8)

    def fill(start: int) -> int:
        stop = min(start + CHUNK, n)
        for i in range(start, stop):
            face = _decode_one(paths[i], size, channels, crop)
            out[i] = face.reshape(size, size, channels).transpose(2, 0, 1)
        return stop - start

    workers = num_workers if num_workers > 0 else os.cpu_count() or 1
    with (
        ThreadPoolExecutor(max_workers=max(1, min(workers, n))) as pool,
        tqdm(total=n, desc=desc, unit="img", disable=n < 200) as bar,
    ):
        for done in pool.map(fill, range(0, n, CHUNK)):
            bar.update(done)
    return torch.from_numpy(out)


def _decode_one(path: Path, size: int, channels: int, crop: Crop | None) -> np.ndarray:
    """One image as uint8 (size, size) or (size, size, 3)."""
    mode = "RGB" if channels == 3 else "L"
    try:
        with Image.open(path) as im:
            orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
            turned = orientation in TRANSPOSED
            full_w, full_h = im.size[::-1] if turned else im.size  # as shown upright
            if min(full_w, full_h) < MIN_SIDE:
                raise FacegenError(_too_small(path, full_w, full_h))
            box = _square_box(full_w, full_h, crop)
            scale = min(1.0, size / (box[2] - box[0]))
            want = (math.ceil(full_w * scale), math.ceil(full_h * scale))
            # JPEG only: the decoder's DCT scaling shrinks by 1/2, 1/4 or 1/8 while staying >= the target
            im.draft(mode, want[::-1] if turned else want)
            upright = ImageOps.exif_transpose(im) if orientation != 1 else im
            fx, fy = upright.size[0] / full_w, upright.size[1] / full_h
            box = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
            small = _to_mode(upright, mode).resize(
                (size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP
            )
            return np.asarray(small)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise FacegenError(f"cannot read image {path} ({e}): remove or replace the file") from None


def check_min_side(path: Path) -> None:
    """Training's one-line refusal of an image under MIN_SIDE pixels on a side, from its header alone (for a tool
    that shows images to be labelled for training, before anyone labels them)."""
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise FacegenError(f"cannot read image {path} ({e}): remove or replace the file") from None
    if min(width, height) < MIN_SIDE:
        raise FacegenError(_too_small(path, width, height))


def _too_small(path: Path, width: int, height: int) -> str:
    return (f"image {path} is {width}x{height} px, under the minimum of {MIN_SIDE} px on each side: remove or replace "
            f"the file")


def load_upright(path: Path, mode: str = "RGB", name: str | None = None) -> Image.Image:
    """The whole image at full size as 8-bit ``mode``, decoded as for training: the one loader of every image
    the project reads whole (photos to edit, the labelling slideshow). ``name`` names it in errors (default: the
    path)."""
    try:
        with Image.open(path) as im:
            return _to_mode(ImageOps.exif_transpose(im), mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise FacegenError(f"cannot read image {name or path} ({e}): remove or replace the file") from None


def _to_mode(im: Image.Image, mode: str) -> Image.Image:
    """``im`` as 8-bit ``mode`` ("RGB" or "L"): 16-bit grey scaled by 1/257, alpha composited on BACKGROUND."""
    if im.mode in WIDE_GREY:
        wide = np.asarray(im).astype(np.int64)
        im = Image.fromarray(np.clip((wide + 128) // 257, 0, 255).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (BACKGROUND,) * 4), rgba)
    return im.convert(mode)


def _square_box(width: int, height: int, crop: Crop | None) -> Crop:
    """The pixel box to keep: the crop fractions, then the largest centred square inside them."""
    left, top, right, bottom = crop if crop is not None else (0.0, 0.0, 1.0, 1.0)
    left, right, top, bottom = left * width, right * width, top * height, bottom * height
    if right <= left or bottom <= top:
        raise FacegenError(f"crop {crop} is empty: give fractions left < right and top < bottom")
    half = min(right - left, bottom - top) / 2
    cx, cy = (left + right) / 2, (top + bottom) / 2
    return (cx - half, cy - half, cx + half, cy + half)


def _cache_key(paths: list[Path], size: int, channels: int, crop: Crop | None) -> str:
    digest = hashlib.sha1(f"faces v{FORMAT_VERSION} size={size} channels={channels} crop={crop}\n".encode())
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as e:
            raise FacegenError(f"cannot read image {path} ({e.strerror}): remove or replace it") from None
        digest.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _checksum(images: torch.Tensor) -> str:
    """sha256 of the tensor's bytes (row-major)."""
    return hashlib.sha256(images.contiguous().numpy()).hexdigest()


def _load_cache(file: Path, shape: tuple[int, ...]) -> torch.Tensor | None:
    """The cached tensor, or None when there is none or it is unreadable, of the wrong shape or damaged."""
    if not file.is_file():
        return None
    try:
        with warnings.catch_warnings():  # torch warns about a pickle protocol it then refuses anyway
            warnings.simplefilter("ignore")
            stored = torch.load(file, weights_only=True)  # tensors only: a planted object's code never runs
    except pickle.UnpicklingError:
        print(f"warning: image cache {file} holds pickled objects, which are never loaded; rebuilding it",
              file=sys.stderr)
        return None
    except Exception as e:  # any corruption: rebuild below
        print(f"warning: ignoring unreadable image cache {file} ({type(e).__name__}); rebuilding it", file=sys.stderr)
        return None
    images = stored.get("images") if isinstance(stored, dict) else None
    if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and tuple(images.shape) == shape):
        print(f"warning: ignoring image cache {file} of unexpected contents; rebuilding it", file=sys.stderr)
        return None
    if stored.get("sha256") != _checksum(images):
        print(f"warning: image cache {file} is damaged (its checksum does not match); rebuilding it",
              file=sys.stderr)
        return None
    return images


def _save_cache(file: Path, images: torch.Tensor) -> None:
    """Write the cache atomically; a folder that cannot take it (read-only, a file, full) costs one warning line
    and the next run decodes again. Temporaries that killed processes left in the folder are removed."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(file.parent)
        torch.save({"images": images, "sha256": _checksum(images)}, tmp)
        os.replace(tmp, file)
    except (OSError, RuntimeError) as e:  # torch.save reports a failed write as RuntimeError
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        print(f"warning: cannot write image cache {file} ({reason}); decoding again next time: pass a writable "
              f"--cache_dir", file=sys.stderr)
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # no folder to remove it from: the warning above said so
