"""A bank of real mouths: the mouth-and-cheeks patches of training faces (``prepare_mouths.py``), each with its
68 landmarks in patch pixels and its smile degree, kept for the exemplar editor
(:mod:`facegen.analysis.editing.exemplar`) to draw teeth, lips and cheeks from.

:func:`build_bank` keeps the patches a mouth can be taken from: sharp enough (the log variance of the
Laplacian on the skin around the mouth at least its :data:`SHARP_QUANTILE` quantile over the folder) and not
wide open (inner-lip gap at most :data:`MAX_GAP` eye distances: a laugh or a yawn is not a smile). Every
strongly smiling and strongly plain mouth (|degree| >= :data:`EXTREME`) is kept; the rest are sampled to fill
``n``. The bank is one safetensors file (raw arrays and a JSON header: nothing in it is executed when read),
with the folder it came from and the filters in its metadata.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write
from facegen.data.landmarks import JAW
from facegen.data.mouths import SIDE, read_mouths

BANK_FORMAT = "facegen-mouth-bank/1"
DEFAULT_BANK = Path("results/mouth_bank.safetensors")  # where build_mouth_bank.py writes by default
SHARP_QUANTILE = 0.25
MAX_GAP = 0.35  # eye distances between the inner lips
EXTREME = 0.6  # |degree| from which every clean mouth is kept
OUTER_LIPS = slice(48, 60)
INNER_UPPER, INNER_LOWER = [61, 62, 63], [67, 66, 65]


@dataclass(frozen=True)
class MouthBank:
    """Real mouth patches (N, S, S, 3) uint8, their landmarks (N, 68, 2) in patch pixels, smile degrees (N,),
    skin sharpness (N,), and where they came from."""

    patches: np.ndarray
    landmarks: np.ndarray
    degrees: np.ndarray
    sharpness: np.ndarray
    provenance: dict

    @property
    def size(self) -> int:
        return int(self.patches.shape[1])

    def __len__(self) -> int:
        return len(self.degrees)


def skin_ring(points: np.ndarray, size: int, scale: int | None = None) -> np.ndarray:
    """(scale, scale) bool: the lower face inside the jaw below the nose, without the lips (grown by a sixth of an
    eye distance), for a face whose landmarks are ``points`` in a ``size`` px patch (drawn at ``scale`` px)."""
    scale = scale or size
    p = points * (scale / size)
    face = np.zeros((scale, scale), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.concatenate([p[JAW][2:15], p[33:34]]).round().astype(np.int32)), 1)
    lips = np.zeros_like(face)
    cv2.fillConvexPoly(lips, cv2.convexHull(p[OUTER_LIPS].round().astype(np.int32)), 1)
    r = max(1, round(scale / SIDE / 6))
    lips = cv2.dilate(lips, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return (face & (1 - lips)).astype(bool)


def sharpness(patch: np.ndarray, ring: np.ndarray) -> float:
    """log(1 + variance of the grey Laplacian) over ``ring``: how much fine detail the skin shows."""
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.log1p(cv2.Laplacian(grey, cv2.CV_32F)[ring].var()))


def inner_gap(points: np.ndarray, size: int) -> np.ndarray:
    """Mean distance between the inner upper and lower lip (N,), in eye distances."""
    return np.linalg.norm(points[:, INNER_UPPER] - points[:, INNER_LOWER], axis=-1).mean(-1) / (size / SIDE)


def _degrees(mouths: Path, names: list[str]) -> np.ndarray:
    path = Path(mouths) / "labels.csv"
    if not path.is_file():
        raise FacegenError(f"{path} not found: run prepare_mouths.py with --labels to label the mouths first")
    with open(path, encoding="utf-8", newline="") as f:
        degree = {r["stimulus_filename"]: float(r["avg_encode"]) for r in csv.DictReader(f)}
    missing = [n for n in names if n not in degree]
    if missing:
        raise FacegenError(f"{path} has no degree for {len(missing)} patches (e.g. {missing[0]}): run "
                           f"prepare_mouths.py again")
    return np.array([degree[n] for n in names], np.float32)


def build_bank(mouths: Path, n: int = 3000, seed: int = 0) -> MouthBank:
    """The bank of the module docstring from a ``prepare_mouths.py`` folder (its patches are training faces
    only)."""
    names, points, _ = read_mouths(mouths)
    degrees = _degrees(mouths, names)
    patches = np.stack([np.asarray(Image.open(Path(mouths) / "images" / name).convert("RGB")) for name in names])
    size = patches.shape[1]
    sharp = np.array([sharpness(p, skin_ring(q, size)) for p, q in zip(patches, points, strict=True)], np.float32)
    clean = (sharp >= np.quantile(sharp, SHARP_QUANTILE)) & (inner_gap(points, size) <= MAX_GAP)
    extreme = np.flatnonzero(clean & (np.abs(degrees) >= EXTREME))
    middle = np.flatnonzero(clean & (np.abs(degrees) < EXTREME))
    rest = np.random.default_rng(seed).permutation(middle)[:max(0, n - len(extreme))]
    keep = np.sort(np.concatenate([extreme, rest]))[:max(n, len(extreme))]
    provenance = {"mouths": str(mouths), "patches": len(names), "kept": len(keep), "seed": seed,
                  "sharp_quantile": SHARP_QUANTILE, "max_gap": MAX_GAP, "extreme": EXTREME,
                  "names": [names[i] for i in keep]}
    return MouthBank(patches[keep], points[keep].astype(np.float32), degrees[keep], sharp[keep], provenance)


def save_bank(bank: MouthBank, path: Path) -> Path:
    """Write ``bank`` to one safetensors file (atomically)."""
    tensors = {"patches": torch.from_numpy(np.ascontiguousarray(bank.patches)),
               "landmarks": torch.from_numpy(bank.landmarks), "degrees": torch.from_numpy(bank.degrees),
               "sharpness": torch.from_numpy(bank.sharpness)}
    meta = {"format": BANK_FORMAT, "provenance": json.dumps(bank.provenance)}
    return atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta), suffix=".safetensors")


def load_bank(path: Path) -> MouthBank:
    """The bank in ``path`` (raw arrays; nothing executed), or one line saying what is wrong with the file."""
    path = Path(path)
    fix = f"build it with python build_mouth_bank.py --mouths data/mouths --out {path}"
    if not path.is_file():
        raise FacegenError(f"{path} not found: {fix}")
    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != BANK_FORMAT:
                raise FacegenError(f"{path} is not a mouth bank (no format {BANK_FORMAT} in its metadata): {fix}")
            arrays = {k: f.get_tensor(k).numpy() for k in ("patches", "landmarks", "degrees", "sharpness")}
        provenance = json.loads(meta["provenance"])
    except (SafetensorError, OSError, ValueError, KeyError) as e:
        raise FacegenError(f"{path} is not a readable mouth bank ({type(e).__name__}): {fix}") from None
    n = len(arrays["degrees"])
    p = arrays["patches"]
    if p.dtype != np.uint8 or p.ndim != 4 or p.shape[0] != n or arrays["landmarks"].shape != (n, 68, 2):
        raise FacegenError(f"{path} holds arrays of the wrong shapes for a mouth bank: {fix}")
    return MouthBank(p, arrays["landmarks"], arrays["degrees"], arrays["sharpness"], provenance)


def is_bank(path: Path) -> bool:
    """Whether ``path`` is a safetensors file whose metadata says it is a mouth bank (reads the header only)."""
    try:
        with safe_open(path, framework="pt") as f:
            return (f.metadata() or {}).get("format") == BANK_FORMAT
    except (SafetensorError, OSError, ValueError):
        return False
