"""UTKFace-style data: a folder of faces named ``AGE_GENDER_RACE_...`` plus a smile-degree label file.

The same loader reads the toy faces, whose names follow the same pattern.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from facegen.core.errors import FacegenError, warn
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.data.labels import read_smile_labels

CONDITIONS = ("smile", "gender", "age")
MAX_AGE = 120
GENDERS = {"male": -1.0, "female": 1.0}  # the gender condition; UTKFace names say 0 (male) / 1 (female)


def age_condition(years: torch.Tensor | float) -> torch.Tensor:
    """The age condition: 0-100 years mapped linearly onto [-1, +1] (older clipped to +1)."""
    return (torch.as_tensor(years, dtype=torch.float32) / 50 - 1).clamp(-1, 1)


def age_years(condition: float) -> float:
    """The age in years that an age-condition value in [-1, +1] stands for (the inverse of age_condition)."""
    return (condition + 1) * 50


def parse_utk_name(name: str) -> dict:
    """``{"age": float, "gender": int, "race": int}`` from a UTKFace file name; nan / -1 where unknown.

    The name must start with an age (0-120) followed by ``_`` for any field to count; a field that is
    not a valid code (e.g. the 17-digit date in ``39_1_20170116174525125.jpg.chip.jpg``) is unknown.
    """
    fields = Path(name).name.split(".")[0].split("_")
    info = {"age": math.nan, "gender": -1, "race": -1}
    if len(fields) < 2 or not fields[0].isdigit() or int(fields[0]) > MAX_AGE:
        return info
    info["age"] = float(fields[0])
    if fields[1] in ("0", "1"):
        info["gender"] = int(fields[1])
    if len(fields) > 2 and fields[2] in ("0", "1", "2", "3", "4"):
        info["race"] = int(fields[2])
    return info


def load_utkface(
    images_dir: Path,
    labels_file: Path,
    *,
    size: int,
    channels: int,
    conditions: Sequence[str] = ("smile",),
    cache_dir: Path | None,
    num_workers: int = 0,
    unlabeled_dir: Path | None = None,
    max_unlabeled: int | None = None,
    name: str = "UTKFace",
) -> FaceSet:
    """The labelled faces of ``labels_file`` found in ``images_dir``, plus optional unlabelled faces.

    Condition columns: smile (the label), gender (-1 male, +1 female), age (age / 50 - 1, clipped to
    [-1, +1]). Unlabelled faces get smile 0 and ``labelled=False``; their gender / age come from the
    file name when known (else 0). ``name`` only names the data in ``FaceSet.source``.
    """
    conditions = list(conditions)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or len(set(conditions)) != len(conditions):
        raise FacegenError(f"conditions {conditions} are not valid: pass --conditions with distinct ones of "
                           f"{', '.join(CONDITIONS)}")
    if conditions and conditions[0] != "smile":
        rest = [c for c in conditions if c != "smile"]
        raise FacegenError(f"--conditions {','.join(conditions)}: smile must come first (the degree flags and sweeps "
                           f"move the first condition): pass --conditions {','.join(['smile', *rest])}")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FacegenError(f"image folder {images_dir} not found: pass --data DIR with the {name} images")
    labels = read_smile_labels(labels_file)
    names = [n for n in labels if (images_dir / n).is_file()]
    present = set(names)
    missing = [n for n in labels if n not in present]
    if not names:
        raise FacegenError(
            f"none of the {len(labels)} faces listed in {labels_file} are in {images_dir}: "
            "pass --data DIR with the folder holding them, or --labels FILE for these images"
        )
    if missing:
        _warn(f"{len(missing)} of the {len(labels)} faces in {labels_file} are not in {images_dir}", missing)

    infos = {n: parse_utk_name(n) for n in names}
    unknown_meta = [n for n in names if _lacks(infos[n], conditions)]
    if unknown_meta:
        needed = "/".join(c for c in conditions if c != "smile")
        _warn(f"{len(unknown_meta)} labelled faces have no {needed} in their file name", unknown_meta)
        names = [n for n in names if not _lacks(infos[n], conditions)]
        if not names:
            raise FacegenError(f"no face in {labels_file} has gender/age in its name: drop them from "
                               "--conditions")

    paths = [images_dir / n for n in names]
    n_labelled = len(paths)
    if unlabeled_dir is not None:
        taken = set(names)
        extra = [p for p in list_images(unlabeled_dir) if p.name not in taken]
        paths += extra[:max_unlabeled] if max_unlabeled is not None else extra
    all_names = [p.name for p in paths]
    for n in all_names[n_labelled:]:
        infos[n] = parse_utk_name(n)

    smile = [labels[n] for n in names] + [0.0] * (len(paths) - n_labelled)
    meta = {
        "age": torch.tensor([infos[n]["age"] for n in all_names], dtype=torch.float32),
        "gender": torch.tensor([infos[n]["gender"] for n in all_names], dtype=torch.long),
        "race": torch.tensor([infos[n]["race"] for n in all_names], dtype=torch.long),
    }
    columns = {
        "smile": torch.tensor(smile, dtype=torch.float32),
        "gender": torch.where(meta["gender"] < 0, 0.0, meta["gender"] * 2.0 - 1.0),
        "age": torch.where(meta["age"].isnan(), 0.0, age_condition(meta["age"])),
    }
    cond = torch.stack([columns[c] for c in conditions], 1) if conditions else torch.zeros(len(paths), 0)
    source = f"{name}: {n_labelled} labelled faces from {images_dir} (labels {labels_file})"
    if len(paths) > n_labelled:
        source += f" + {len(paths) - n_labelled} unlabelled from {unlabeled_dir}"
    return FaceSet(
        images=decode_images(paths, size=size, channels=channels, cache_dir=cache_dir,
                             num_workers=num_workers),
        cond=cond,
        cond_names=conditions,
        labelled=torch.arange(len(paths)) < n_labelled,
        names=all_names,
        meta=meta,
        source=source,
    )


def _lacks(info: dict, conditions: list[str]) -> bool:
    no_gender, no_age = info["gender"] < 0, math.isnan(info["age"])
    return ("gender" in conditions and no_gender) or ("age" in conditions and no_age)


def _warn(what: str, names: list[str]) -> None:
    first = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    warn(f"{what}; skipping them ({first})")
