"""The mouth-and-cheeks frame of a face, and the editor's training patches cut in it.

The frame is a square of :data:`SIDE` eye distances, turned level with the eyes and centred on the mouth (the
mean of the 20 lip landmarks), so mouths from photos of any size and tilt land in the same place of a
``size`` px patch. At 96 px it is about the photo's own resolution for a face whose eyes are 50-65 px apart
(UTKFace's 200 px crops; LFW's 250 px photos are upsampled about 1.3x).

:func:`prepare_mouths` cuts the patches of a folder of face photos once (``prepare_mouths.py``): PNG patches,
and ``mouths.npz`` with each patch's name, its 68 landmarks in patch pixels and its mouth-shape features
(:func:`facegen.data.landmarks.mouth_features`). A photo with no editable face is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.cache import load_upright
from facegen.data.landmarks import MOUTH, Face, find_faces, mouth_features

SIDE = 1.8  # eye distances: the frame's side
SIZE = 96  # px: the editor's patch


def mouth_frame(face: Face, size: int = SIZE) -> np.ndarray:
    """(2, 3) similarity mapping photo pixels to the face's mouth patch of ``size`` px (see the module
    docstring)."""
    (lx, ly), (rx, ry) = face.eyes
    angle = np.arctan2(ry - ly, rx - lx)
    scale = size / (SIDE * face.eye_distance)
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    centre = face.landmarks[MOUTH].mean(0)
    rot = np.array([[c, -s], [s, c]])
    shift = np.array([size / 2, size / 2]) - rot @ centre
    return np.concatenate([rot, shift[:, None]], 1)


def cut_patch(rgb: np.ndarray, frame: np.ndarray, size: int = SIZE) -> np.ndarray:
    """The (size, size, 3) uint8 patch of an RGB photo in ``frame`` (area-averaged when shrinking)."""
    import cv2

    scale = float(np.hypot(*frame[:, 0]))
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, frame, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _one(args: tuple[Path, Path, int]) -> tuple[str, np.ndarray, np.ndarray] | None:
    path, out, size = args
    try:
        rgb = np.asarray(load_upright(path))  # decoded as the training faces are (EXIF, 16-bit grey, alpha)
    except FacegenError:
        return None
    faces = find_faces(rgb)
    if not faces or faces[0].refusal() is not None:
        return None
    frame = mouth_frame(faces[0], size)
    name = path.name + ".png"
    Image.fromarray(cut_patch(rgb, frame, size)).save(out / name)
    points = faces[0].landmarks @ frame[:, :2].T + frame[:, 2]
    return name, points.astype(np.float32), mouth_features(faces[0].landmarks).astype(np.float32)


def prepare_mouths(paths: Sequence[Path], out: Path, size: int = SIZE, workers: int = 2) -> dict:
    """Cut every photo's mouth patch into ``out/images`` and write ``out/mouths.npz`` (see the module
    docstring); returns the counts, also written to ``out/mouths.json``."""
    if not paths:
        raise FacegenError("no photos to cut mouths from: pass --data DIR with face photos")
    images = Path(out) / "images"
    images.mkdir(parents=True, exist_ok=True)
    jobs = [(Path(p), images, size) for p in paths]
    with ProcessPoolExecutor(max(1, workers)) as pool:
        done = [r for r in pool.map(_one, jobs, chunksize=64) if r is not None]
    if not done:
        raise FacegenError(f"no editable face in any of the {len(paths)} photos: give face photos")
    names, points, features = zip(*done, strict=True)
    np.savez(Path(out) / "mouths.npz", names=np.array(names), landmarks=np.stack(points),
             features=np.stack(features))
    counts = {"photos": len(paths), "patches": len(done), "skipped": len(paths) - len(done), "size": size,
              "side_eye_distances": SIDE}
    write_json(Path(out) / "mouths.json", counts)
    return counts


def read_mouths(out: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, landmarks (N, 68, 2) in patch pixels, features (N, 5)) written by :func:`prepare_mouths`."""
    path = Path(out) / "mouths.npz"
    if not path.is_file():
        raise FacegenError(f"{path} not found: run prepare_mouths.py --out {out} first")
    with np.load(path, allow_pickle=False) as f:
        return [str(n) for n in f["names"]], f["landmarks"], f["features"]


def editor_split(images_dir: Path, labels_file: Path, val_fraction: float = 0.2, seed: int = 0
                 ) -> tuple[list[str], list[str]]:
    """(training names, held-out names) of a UTKFace folder, split the way the semi-supervised CVAE of
    ``scripts/identity_study.sh`` splits it (labelled and unlabelled faces each on their own, with its
    ``--val_fraction 0.2 --seed 0``), so faces held out from both editors are the same."""
    from facegen.data.cache import list_images
    from facegen.data.labels import read_smile_labels
    from facegen.data.split import split_indices
    from facegen.data.utkface import parse_utk_name

    labels = read_smile_labels(labels_file)
    labelled = [n for n in labels if (Path(images_dir) / n).is_file() and parse_utk_name(n)["gender"] >= 0]
    taken = set(labels)
    unlabelled = [p.name for p in list_images(Path(images_dir)) if p.name not in taken]
    train, held = [], []
    for part in (labelled, unlabelled):
        t, v = split_indices(len(part), val_fraction, seed)
        train += [part[i] for i in t.tolist()]
        held += [part[i] for i in v.tolist()]
    return train, held


def read_split(out: Path) -> list[str]:
    """The held-out face names written by prepare_mouths.py (no editor trains on them)."""
    import json

    path = Path(out) / "split.json"
    if not path.is_file():
        raise FacegenError(f"{path} not found: run prepare_mouths.py --out {out} first")
    return list(json.loads(path.read_text(encoding="utf-8"))["held_out"])
