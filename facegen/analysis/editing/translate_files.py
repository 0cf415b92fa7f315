"""A user's own images through a trained translator: depth maps -> faces, or (a face2depth run) photos -> depth
maps, one PNG per input under the input's name, at the run's size (translate.py)."""

from __future__ import annotations

from pathlib import Path

from facegen import plots
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.data.cache import IMAGE_SUFFIXES, list_images
from facegen.data.pairs import load_depth_maps
from facegen.data.photos import load_photos
from facegen.models.capabilities import Translator
from facegen.runs import Run


def translate_files(run: Run, model: Translator, images: Path, out: Path) -> str:
    """Translate the image ``images`` (or every image of that folder) into OUT/NAME.png; returns what was done,
    in words. Inputs the run was not trained on (a colour depth map, a flat one, ...) are refused in one line,
    as is an ``out`` that would write over an input."""
    what = "photos" if model.reverse else "depth maps"
    if images.is_file():
        if images.suffix.lower() not in IMAGE_SUFFIXES:
            raise FacegenError(f"--images {images} is not an image ({' '.join(IMAGE_SUFFIXES)}): give one of "
                               f"your {what} or a folder of them")
        paths = [images]
    else:
        paths = list_images(images, f"pass --images a folder of {what} (or one image)")
    inputs = load_photos(paths, run.size, run.channels) if model.reverse else load_depth_maps(paths, run.size)
    names = [p.stem + ".png" for p in paths]
    if len(set(names)) != len(names):
        raise FacegenError(f"{images} holds two images of the same name with different extensions: rename one")
    inputs_at = {p.resolve() for p in paths}
    if any((out / name).resolve() in inputs_at for name in names):
        raise FacegenError(f"--out {out}: the translations would be written over their inputs (same folder, "
                           f"same names); pass another --out")
    made = batched(model.translate, inputs, device=next(model.parameters()).device, batch_size=64)
    out.mkdir(parents=True, exist_ok=True)
    for image, name in zip(made, names, strict=True):
        plots.save_image(image, out / name)
    return f"translated {len(paths)} {what} into {out}"
