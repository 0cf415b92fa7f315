"""Lessons for a smile editor that draws: the exemplar editor's edits of the training mouth patches
(:mod:`facegen.analysis.editing.exemplar`), written as paired examples (patch, target degree) -> edited patch for
the taught GANimation editor (:mod:`facegen.models.editor.taught`) to learn from.

For every patch of a prepare_mouths.py folder (training faces only), with its landmarks in patch pixels:

- one lesson per degree of :data:`TARGETS`: the patch with its mouth and cheeks replaced by the bank's best
  fitting real mouth of that degree, blended by Poisson blending inside the patch (no smile reading: the patch
  holds no whole face to read);
- one lesson at the face's own degree whose target is the patch itself (an edit to the smile it has changes
  nothing).

``OUT/lessons.csv`` (columns face, input, target, smile; paths relative to OUT) is what
:func:`facegen.data.pairs.load_lessons` reads; the targets are PNGs in ``OUT/targets``, the inputs the patches of
the prepare_mouths.py folder (named by a path relative to OUT, not copied).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from PIL import Image

from facegen.analysis.editing.exemplar import ExemplarEditor
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.labels import read_smile_labels
from facegen.data.landmarks import Face
from facegen.data.mouth_bank import MouthBank
from facegen.data.mouths import read_mouths

TARGETS = (-1.0, 1.0)
SUFFIX = {-1.0: "minus", 1.0: "plus"}


def write_lessons(mouths: Path, bank: MouthBank, out: Path, limit: int | None = None) -> dict:
    """Write the lessons of the first ``limit`` (None: all) patches of ``mouths`` into ``out`` (module
    docstring); returns the counts, also written to ``out/lessons.json``."""
    names, landmarks, _ = read_mouths(mouths)
    degrees = read_smile_labels(Path(mouths) / "labels.csv")
    missing = [n for n in names if n not in degrees]
    if missing:
        raise FacegenError(f"{mouths}/labels.csv has no degree for {len(missing)} patches (e.g. {missing[0]}): run "
                           f"prepare_mouths.py again")
    editor = ExemplarEditor(bank)
    (Path(out) / "targets").mkdir(parents=True, exist_ok=True)
    rows, chosen = [], []
    for name, points in list(zip(names, landmarks, strict=True))[:limit]:
        source = Path(mouths) / "images" / name
        patch = np.asarray(Image.open(source).convert("RGB"))
        face = Face((0.0, 0.0, float(patch.shape[1]), float(patch.shape[0])), points.astype(np.float64))
        relative = Path(os.path.relpath(source, out)).as_posix()
        rows.append({"face": name, "input": relative, "target": relative, "smile": f"{degrees[name]:.4f}"})
        for t in TARGETS:
            edited, _, exemplar = editor.edit_face(patch, face, t)
            target = Path("targets") / f"{Path(name).stem}_{SUFFIX[t]}.png"
            Image.fromarray(edited).save(Path(out) / target)
            rows.append({"face": name, "input": relative, "target": target.as_posix(), "smile": f"{t:.4f}"})
            chosen.append(exemplar.index)
    with (Path(out) / "lessons.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["face", "input", "target", "smile"])
        writer.writeheader()
        writer.writerows(rows)
    counts = {"patches": len(rows) // (len(TARGETS) + 1), "lessons": len(rows), "targets": list(TARGETS),
              "exemplars_used": len(set(chosen))}
    write_json(Path(out) / "lessons.json", counts)
    return counts
