"""Procedural cartoon faces: the embedded default dataset when no real face photos are at hand.

Each face is drawn with PIL at ``SUPERSAMPLE`` times the target size and downsampled with Lanczos, so
edges are smooth. The smile degree in [-1, +1] bends the mouth: +1 lifts the corners well above the
middle (an open smile showing teeth past ``SMILE_OPEN``), -1 pulls them below (a frown), 0 is flat.
File names follow the UTKFace pattern ``{age}_{gender}_{race}_toy{i:05d}.png``, so the UTKFace loader
reads a toy dataset together with its smile label file. Each face also has a depth map of the same geometry
(``facegen.data.toydepth``) under the same name in ``depth/``: the toy pairs for depth-to-face translation.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from facegen.core.errors import FacegenError
from facegen.data.labels import write_smile_labels
from facegen.data.toydepth import draw_depth
from facegen.data.toyparams import (
    GREY_HAIR,
    HAIR_COLOURS,
    IRIS_COLOURS,
    MOUTH_COLOUR,
    MOUTH_INSIDE,
    SKIN_BY_RACE,
    SMILE_OPEN,
    SUPERSAMPLE,
    TEETH,
    Colour,
    FaceParams,
)

GENERATOR_VERSION = 3  # bump when the drawing or the layout changes: existing toy datasets are then regenerated
MANIFEST = "toyfaces.json"
IMAGES_DIR, DEPTH_DIR, LABELS_FILE = "images", "depth", "labels.csv"  # the layout inside a toy dataset


def random_params(rng: np.random.Generator) -> FaceParams:
    """One random face; the smile is uniform in [-1, +1], independent of everything else."""
    age = int(rng.integers(1, 91))
    gender = int(rng.integers(0, 2))
    race = int(rng.integers(0, 5))
    child = age < 13
    if age > 50 and rng.random() < (age - 50) / 40:
        hair = GREY_HAIR
    else:
        hair = HAIR_COLOURS[int(rng.integers(0, 2 if race in (1, 2, 3) else len(HAIR_COLOURS)))]
    return FaceParams(
        smile=round(float(rng.uniform(-1, 1)), 4),
        age=age,
        gender=gender,
        race=race,
        face_w=float(rng.uniform(0.24, 0.30)) * (1.05 if child else 1.0),
        face_h=float(rng.uniform(0.31, 0.37)) * (0.92 if child else 1.0),
        skin=_jitter(rng, SKIN_BY_RACE[race]),
        hair=_jitter(rng, hair),
        long_hair=bool(rng.random() < (0.8 if gender == 1 else 0.2)),
        eye_spacing=float(rng.uniform(0.095, 0.125)),
        eye_size=float(rng.uniform(0.028, 0.042)) * (1.2 if child else 1.0),
        iris=IRIS_COLOURS[int(rng.integers(0, 2 if race in (1, 2, 3) else len(IRIS_COLOURS)))],
        brow_height=float(rng.uniform(0.04, 0.065)),
        brow_tilt=float(rng.uniform(-0.1, 0.25)),
        mouth_width=float(rng.uniform(0.09, 0.13)),
        shirt=tuple(int(c) for c in rng.integers(30, 220, 3)),
        shift_x=float(rng.uniform(-0.04, 0.04)),
        shift_y=float(rng.uniform(-0.04, 0.04)),
        rotation=float(rng.uniform(-10, 10)),
        light_angle=float(rng.uniform(0, 2 * math.pi)),
        light_strength=float(rng.uniform(0, 0.35)),
        background=tuple(int(c) for c in rng.integers(110, 245, 3)),
    )


def draw_face(p: FaceParams, size: int = 128) -> Image.Image:
    """An RGB ``size`` x ``size`` cartoon face."""
    s = size * SUPERSAMPLE
    img = Image.new("RGB", (s, s), p.background)
    d = ImageDraw.Draw(img)
    cx, cy, fw, fh = s / 2, s * 0.47, p.face_w * s, p.face_h * s
    d.ellipse((cx - fw * 1.9, cy + fh * 0.95, cx + fw * 1.9, cy + fh * 2.8), fill=p.shirt)  # shoulders
    if p.long_hair:
        d.rounded_rectangle((cx - fw * 1.2, cy - fh * 0.5, cx + fw * 1.2, cy + fh * 1.3), radius=fw * 0.45,
                            fill=p.hair)
        d.ellipse((cx - fw * 1.2, cy - fh * 1.15, cx + fw * 1.2, cy + fh * 0.3), fill=p.hair)
    neck = (cx - fw * 0.4, cy + fh * 0.5, cx + fw * 0.4, cy + fh * 1.2)
    d.rectangle(neck, fill=_shade(p.skin, 0.85))
    if not p.long_hair:
        for side in (-1, 1):
            ex = cx + side * fw * 0.97
            ear = (ex - fw * 0.15, cy - fh * 0.22, ex + fw * 0.15, cy + fh * 0.15)
            d.ellipse(ear, fill=_shade(p.skin, 0.9))
    d.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=p.skin, outline=_shade(p.skin, 0.75), width=s // 160)
    hairline, top = cy - fh * (0.5 if p.long_hair else 0.45), cy - fh * 1.1
    d.chord((cx - fw * 1.07, top, cx + fw * 1.07, 2 * hairline - top), 180, 360, fill=p.hair)
    _draw_eyes(d, p, cx, cy - fh * 0.08, s)
    d.arc((cx - fw * 0.13, cy + fh * 0.04, cx + fw * 0.13, cy + fh * 0.24), 20, 160,
          fill=_shade(p.skin, 0.65), width=s // 110)  # nose
    _draw_mouth(d, p.smile, cx, cy + fh * 0.5, p.mouth_width * s, s)
    img = img.resize((size, size), Image.Resampling.LANCZOS)  # pose after downsampling: 1/9 of the pixels
    shift = (p.shift_x * size, p.shift_y * size)
    img = img.rotate(p.rotation, resample=Image.Resampling.BICUBIC, translate=shift, fillcolor=p.background)
    return _light(img, p.light_angle, p.light_strength)


def make_toy_dataset(root: Path, n: int = 3000, seed: int = 0, size: int = 128) -> tuple[Path, Path]:
    """Write ``root/images/*.png``, their depth maps ``root/depth/*.png`` (same names, 8-bit grey) and
    ``root/labels.csv`` (smile labels) unless already there.

    Generation happens in a temporary folder beside ``root`` that is renamed into place at the end, so
    an interrupted run never leaves half a dataset; a one-line notice is printed when drawing starts.
    Returns (images_dir, labels_file).
    """
    if n < 1:
        raise FacegenError(f"cannot draw {n} toy faces: pass --toy_n 1 or more")
    root = Path(root)
    images_dir, labels_file = root / IMAGES_DIR, root / LABELS_FILE
    manifest = {"generator": GENERATOR_VERSION, "n": n, "seed": seed, "size": size,
                "images": IMAGES_DIR, "depth": DEPTH_DIR, "labels": LABELS_FILE}
    if (_read_manifest(root) == manifest and images_dir.is_dir() and (root / DEPTH_DIR).is_dir()
            and labels_file.is_file()):
        return images_dir, labels_file
    if root.is_dir() and any(root.iterdir()) and not (root / MANIFEST).is_file():
        raise FacegenError(f"{root} exists and is not a toy-face folder: pass another --toy_dir or remove it")
    print(f"drawing {n} toy faces ({size} px, seed {seed}) into {root}: done once, then reused")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        _generate(tmp, n, seed, size)
        (tmp / MANIFEST).write_text(json.dumps(manifest) + "\n")
        if root.exists():  # an older toy dataset (other n / seed / size / generator): swap it out
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.replace(root, old / root.name)
            os.replace(tmp, root)
            shutil.rmtree(old)
        else:
            os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return images_dir, labels_file


def _generate(folder: Path, n: int, seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    params = [random_params(rng) for _ in range(n)]
    names = [f"{p.age}_{p.gender}_{p.race}_toy{i:05d}.png" for i, p in enumerate(params)]
    (folder / IMAGES_DIR).mkdir()
    (folder / DEPTH_DIR).mkdir()

    def save(i: int) -> None:
        draw_face(params[i], size).save(folder / IMAGES_DIR / names[i], compress_level=6)
        draw_depth(params[i], size).save(folder / DEPTH_DIR / names[i], compress_level=6)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for _ in tqdm(pool.map(save, range(n)), total=n, desc="toy faces", unit="img", disable=n < 200):
            pass
    write_smile_labels(folder / LABELS_FILE, {name: p.smile for name, p in zip(names, params, strict=True)})


def _read_manifest(root: Path) -> dict | None:
    try:
        return json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _draw_eyes(d: ImageDraw.ImageDraw, p: FaceParams, cx: float, ey: float, s: int) -> None:
    r, brow = p.eye_size * s, _shade(p.hair, 0.7)
    for side in (-1, 1):
        ex = cx + side * p.eye_spacing * s
        d.ellipse((ex - r * 1.35, ey - r * 0.85, ex + r * 1.35, ey + r * 0.85), fill=(250, 250, 248),
                  outline=(45, 35, 35), width=max(1, s // 200))
        d.ellipse((ex - r * 0.6, ey - r * 0.6, ex + r * 0.6, ey + r * 0.6), fill=p.iris)
        d.ellipse((ex - r * 0.3, ey - r * 0.3, ex + r * 0.3, ey + r * 0.3), fill=(15, 12, 12))
        d.ellipse((ex + r * 0.1, ey - r * 0.4, ex + r * 0.3, ey - r * 0.2), fill=(255, 255, 255))
        by, half = ey - p.brow_height * s, r * 1.5
        lift = p.brow_tilt * half
        _stroke(d, [(ex - side * half, by + lift), (ex + side * half, by - lift)], brow, s * 0.013)


def _draw_mouth(d: ImageDraw.ImageDraw, smile: float, cx: float, my: float, mw: float, s: int) -> None:
    """A curve whose corners sit ``smile * 0.55 * mw`` above its middle; open with teeth for big smiles."""
    t = np.linspace(-1, 1, 25)
    xs, upper = cx + t * mw, my - smile * 0.55 * mw * (t**2 - 0.5)
    if smile > SMILE_OPEN:
        opening = (smile - SMILE_OPEN) / (1 - SMILE_OPEN) * 0.6 * mw * (1 - t**2)
        lower, teeth = upper + opening, upper + 0.35 * opening
        d.polygon(_points(xs, upper) + _points(xs, lower)[::-1], fill=MOUTH_INSIDE)
        d.polygon(_points(xs, upper) + _points(xs, teeth)[::-1], fill=TEETH)
        _stroke(d, _points(xs, lower), MOUTH_COLOUR, s * 0.012)
    _stroke(d, _points(xs, upper), MOUTH_COLOUR, s * 0.018)


def _stroke(d: ImageDraw.ImageDraw, points: list[tuple[float, float]], colour: Colour, width: float) -> None:
    """A polyline with round joints and round caps."""
    d.line(points, fill=colour, width=max(1, round(width)), joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        d.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _points(xs: np.ndarray, ys: np.ndarray) -> list[tuple[float, float]]:
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def _light(img: Image.Image, angle: float, strength: float) -> Image.Image:
    """Multiply by a linear brightness ramp rising towards ``angle``."""
    n = img.size[0]
    ramp = np.linspace(-1, 1, n, dtype=np.float32)
    gain = 1 + strength * (math.cos(angle) * ramp[None, :] - math.sin(angle) * ramp[:, None]) / math.sqrt(2)
    out = np.asarray(img, dtype=np.float32) * gain[:, :, None]
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _shade(c: Colour, f: float) -> Colour:
    return tuple(min(255, round(v * f)) for v in c)


def _jitter(rng: np.random.Generator, c: Colour) -> Colour:
    """``c`` a little lighter or darker, with a slight tint that keeps its hue recognisable."""
    v = np.asarray(c) * rng.uniform(0.88, 1.1) + rng.normal(0, 4, 3)
    return tuple(int(x) for x in np.clip(np.round(v), 0, 255))
