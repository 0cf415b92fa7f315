"""Translate your own images with a trained run: depth maps -> faces (or, with a face2depth run, photos -> depth).

``python translate.py --run results/d2f_supervised --images MY_DEPTH_MAPS --out faces/`` writes one PNG per
input, under the input's name, at the run's size. Depth maps must be what the run was trained on: 8-bit grey
(near = bright, 0 = no depth), square crops; anything else is refused in one line.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.data.cache import IMAGE_SUFFIXES, decode_images, list_images
from facegen.data.pairs import check_depth_map
from facegen.data.photos import load_photos


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = Parser(description=__doc__.splitlines()[0])
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--images", type=Path, required=True,
                   help="a folder of depth maps (photos for a face2depth run), or one such image")
    p.add_argument("--out", type=Path, required=True, help="folder for the translations (one PNG per input)")
    return p.parse_args(argv)


def load_depth_maps(paths: list[Path], size: int) -> torch.Tensor:
    """Depth maps as floats in [0, 1] (N, 1, size, size), each checked: 8-bit grey, square, not flat."""
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


def save_image(image: torch.Tensor, path: Path) -> None:
    """An image in [0, 1] (C, H, W) as an 8-bit PNG (grey for one channel)."""
    array = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else np.ascontiguousarray(array)).save(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run, model = open_run(args, ("translate", "translating images"))
    reverse = getattr(model, "reverse", False)
    what = "photos" if reverse else "depth maps"
    if args.images.is_file():
        if args.images.suffix.lower() not in IMAGE_SUFFIXES:
            raise FacegenError(f"--images {args.images} is not an image ({' '.join(IMAGE_SUFFIXES)}): give one of "
                               f"your {what} or a folder of them")
        paths = [args.images]
    else:
        paths = list_images(args.images, f"pass --images a folder of {what} (or one image)")
    inputs = load_photos(paths, run.size, run.channels) if reverse else load_depth_maps(paths, run.size)
    device = next(model.parameters()).device
    names = [p.stem + ".png" for p in paths]
    if len(set(names)) != len(names):
        raise FacegenError(f"{args.images} holds two images of the same name with different extensions: rename one")
    inputs_at = {p.resolve() for p in paths}
    if any((args.out / name).resolve() in inputs_at for name in names):
        raise FacegenError(f"--out {args.out}: the translations would be written over their inputs (same folder, "
                           f"same names); pass another --out")
    made = batched(model.translate, inputs, device=device, batch_size=64)
    args.out.mkdir(parents=True, exist_ok=True)
    for image, name in zip(made, names, strict=True):
        save_image(image, args.out / name)
    print(f"translated {len(paths)} {'photos' if reverse else 'depth maps'} into {args.out}")


if __name__ == "__main__":
    guard(main)
