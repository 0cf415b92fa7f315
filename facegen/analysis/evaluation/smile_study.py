"""Smile editing methods compared on photos none of them trained on, by judges that did not make the edits.

For each photo set (held-out UTKFace crops, whole LFW photos) and each method (a function photo, face, target
-> edited photo), every photo's largest face is found with its landmarks; a photo with no editable face counts
against "edited". Each face is set to smile -1 and +1, and measured:

- **smile flips** by the CelebA smile judge (:mod:`.celeba_judge`): of the faces it calls not smiling, the share
  it calls smiling after +1; of those it calls smiling, the share not smiling after -1;
- **mouth shape**: mouth width over jaw width from the landmarks found again on the edited photo, its change
  (+1 on non-smiling faces, -1 on smiling ones) as a share of the gap between the human-labelled smiling and
  non-smiling faces' means (the yardstick: what a real smile changes);
- **the person kept**: the identity net's distance between the face before and after (both cut in LFW's crop
  framing from the same eye positions), the share under its "same person" threshold and its strict one;
- **outside the face**: the largest change (grey levels, 0-255) of any pixel outside the landmarks' box grown
  by a quarter on every side;
- **two-sample test** (:mod:`.two_sample`): the mouths of non-smiling faces edited to +1 against the real
  smiling mouths of the other faces of the set (other people), with two halves of the real smiling mouths
  against each other as the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from facegen.analysis.editing.exemplar import SmileReading
from facegen.analysis.editing.mouth_source import MouthSource
from facegen.analysis.evaluation.two_sample import held_out_accuracy
from facegen.analysis.judges.celeba_judge import CelebASmileJudge
from facegen.analysis.judges.identity import IdentityJudge
from facegen.data.align import crop_to_eyes, invert, warp
from facegen.data.landmarks import Face, faces_in_photo, mouth_width_ratio
from facegen.data.mouths import mouth_frame
from facegen.data.photos import read_photo
from facegen.models.capabilities import SmilePredictor

Method = Callable[[torch.Tensor, Face, float], torch.Tensor]
TWO_SAMPLE_SIZE = 48  # px of the mouth patches the two-sample classifier sees


@dataclass
class Framing:
    """Eye centres (fractions of the crop) of the identity net's LFW crops."""

    eyes: tuple[tuple[float, float], tuple[float, float]]

    def crop(self, photo: torch.Tensor, face: Face, size: int) -> torch.Tensor:
        return crop_to_eyes(photo, face.eyes, self.eyes, size)


@dataclass
class Judges:
    smile: CelebASmileJudge
    identity: IdentityJudge
    framing: Framing
    gap: float  # smiling minus non-smiling mean mouth-width ratio of the human-labelled faces


@dataclass
class FaceRecord:
    name: str
    smiling: float
    ratio: float
    edits: dict[str, dict[float, dict]] = field(default_factory=dict)


def _grey_levels(a: torch.Tensor, b: torch.Tensor, face: Face) -> float:
    """Largest |a - b| (0-255) outside the landmarks' box grown by a quarter of its size on every side."""
    lo, hi = face.landmarks.min(0), face.landmarks.max(0)
    grow = (hi - lo) / 4
    (x0, y0), (x1, y1) = np.floor(lo - grow).astype(int), np.ceil(hi + grow).astype(int)
    outside = torch.ones(a.shape[-2:], dtype=torch.bool)
    outside[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = False
    return float((a - b).abs()[:, outside].max() * 255) if outside.any() else 0.0


def _nearest(faces: list[Face], face: Face) -> Face | None:
    """The face of ``faces`` whose eyes are nearest ``face``'s (within half an eye distance), or None."""
    best = min(faces, key=lambda f: np.abs(np.array(f.eyes) - np.array(face.eyes)).sum(), default=None)
    if best is None or np.abs(np.array(best.eyes) - np.array(face.eyes)).max() > face.eye_distance / 2:
        return None
    return best


def mouth_patch(photo: torch.Tensor, face: Face, size: int = TWO_SAMPLE_SIZE) -> torch.Tensor:
    return warp(photo.float(), invert(torch.from_numpy(mouth_frame(face, size))), (size, size))


def run_set(paths: list[Path], methods: dict[str, Method], judges: Judges, targets=(-1.0, 1.0), keep: int = 8,
            shown: list | None = None) -> dict:
    """Every measure of the module docstring for one photo set. The first ``keep`` faces' photos and edits are
    appended to ``shown`` as (name, face, [photo, each method's edit to each target])."""
    records, mouths = [], {"real": [], **{m: [] for m in methods}}
    n_ident = judges.identity.size
    crops: dict = {"before": [], **{(m, t): [] for m in methods for t in targets}}
    refused = []
    for path in paths:
        photo = read_photo(path)
        faces = faces_in_photo(photo)
        if not faces or faces[0].refusal() is not None:
            refused.append(path.name)
            continue
        face = faces[0]
        rec = FaceRecord(path.name, float(judges.smile.smiling(photo, [face])[0]), mouth_width_ratio(face.landmarks))
        before = judges.framing.crop(photo, face, n_ident)
        crops["before"].append(before)
        mouths["real"].append((rec.smiling, mouth_patch(photo, face)))
        row = [photo]
        for name, method in methods.items():
            rec.edits[name] = {}
            for t in targets:
                edited = method(photo, face, t)
                row.append(edited)
                again = _nearest(faces_in_photo(edited), face)
                rec.edits[name][t] = {
                    "smiling": float(judges.smile.smiling(edited, [face])[0]),
                    "ratio": None if again is None else mouth_width_ratio(again.landmarks),
                    "outside": _grey_levels(edited, photo, face)}
                crops[(name, t)].append(judges.framing.crop(edited, face, n_ident))
                if t == max(targets) and rec.smiling <= 0.5:
                    mouths[name].append(mouth_patch(edited, face))
        if shown is not None and len(records) < keep:
            shown.append((path.name, face, row))
        records.append(rec)
    return summarise(records, crops, mouths, methods, judges, targets, len(paths), refused)


def summarise(records: list[FaceRecord], crops: dict, mouths: dict, methods: dict, judges: Judges, targets,
              n_photos: int, refused: list[str]) -> dict:
    """The table row of each method from the per-face records."""
    smiling = np.array([r.smiling > 0.5 for r in records])
    before = torch.stack(crops["before"])
    real_smiling = torch.stack([m for p, m in mouths["real"] if p > 0.5])
    real_plain = torch.stack([m for p, m in mouths["real"] if p <= 0.5])
    half = len(real_smiling) // 2
    out = {"photos": n_photos, "edited": len(records), "refused": refused, "judged_smiling": int(smiling.sum()),
           "gap": judges.gap, "two_sample_floor": held_out_accuracy(real_smiling[:half], real_smiling[half:]),
           "two_sample_plain_vs_smiling": held_out_accuracy(real_plain, real_smiling), "methods": {}}
    for name in methods:
        low, high = min(targets), max(targets)
        p_low = np.array([r.edits[name][low]["smiling"] for r in records])
        p_high = np.array([r.edits[name][high]["smiling"] for r in records])
        widen = [r.edits[name][high]["ratio"] - r.ratio for r in records
                 if r.smiling <= 0.5 and r.edits[name][high]["ratio"] is not None]
        narrow = [r.ratio - r.edits[name][low]["ratio"] for r in records
                  if r.smiling > 0.5 and r.edits[name][low]["ratio"] is not None]
        row = {"flip_to_smiling": float((p_high[~smiling] > 0.5).mean()) if (~smiling).any() else float("nan"),
               "flip_to_plain": float((p_low[smiling] <= 0.5).mean()) if smiling.any() else float("nan"),
               "mouth_widening_share_of_gap": float(np.mean(widen) / judges.gap) if widen else float("nan"),
               "mouth_narrowing_share_of_gap": float(np.mean(narrow) / judges.gap) if narrow else float("nan"),
               "landmarks_found_after": float(np.mean([r.edits[name][t]["ratio"] is not None
                                                       for r in records for t in targets])),
               "outside_max_grey_levels": float(max(r.edits[name][t]["outside"] for r in records for t in targets)),
               "two_sample": held_out_accuracy(torch.stack(mouths[name]), real_smiling) if mouths[name] else None}
        for t in targets:
            row[f"identity {t:+g}"] = judges.identity.kept(before, torch.stack(crops[(name, t)]))
        out["methods"][name] = row
    out["faces"] = [{"name": r.name, "smiling": r.smiling, "ratio": r.ratio, "edits": {
        m: {f"{t:+g}": v for t, v in e.items()} for m, e in r.edits.items()}} for r in records]
    return out


LFW_CROP = (83, 92, 84)  # LFWcrop's box in the 250 px deep-funneled photos: left, top, side


def lfw_crop_framing(photos: list[Path]) -> Framing:
    """Where LFWcrop's box (the identity net's training crop) puts the eye centres, as fractions of the crop:
    the mean over whole deep-funneled LFW photos (which are aligned, so the box sits the same on all of them)."""
    x0, y0, side = LFW_CROP
    eyes = []
    for path in photos:
        faces = faces_in_photo(read_photo(path))
        if faces:
            eyes.append(faces[0].eyes)
    e = (np.mean(np.asarray(eyes, np.float64), 0) - (x0, y0)) / side
    return Framing(((float(e[0, 0]), float(e[0, 1])), (float(e[1, 0]), float(e[1, 1]))))


def human_gap(photos: list[Path], degrees: list[float]) -> dict:
    """Mean mouth-width ratio of the human-labelled smiling (degree > 0) and other faces, and their gap."""
    ratios, kept = [], []
    for path, d in zip(photos, degrees, strict=True):
        faces = faces_in_photo(read_photo(path))
        if faces:
            ratios.append(mouth_width_ratio(faces[0].landmarks))
            kept.append(d)
    r, d = np.array(ratios), np.array(kept)
    return {"smiling": float(r[d > 0].mean()), "not_smiling": float(r[d <= 0].mean()),
            "gap": float(r[d > 0].mean() - r[d <= 0].mean()), "faces": len(r)}


def table(results: dict[str, dict]) -> str:
    """A markdown table: one row per photo set and method."""
    head = ("| photos | method | edited | flips to smiling (+1) | flips to not smiling (-1) "
            "| mouth widening / real gap | mouth narrowing / real gap | same person -1 / +1 (strict) "
            "| outside face, max grey levels | two-sample accuracy (floor) |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for set_name, res in results.items():
        floor = res["two_sample_floor"]["accuracy"]
        for name, m in res["methods"].items():
            ts = m["two_sample"]
            ident = " / ".join(f"{m[f'identity {t}']['share_same']:.0%} ({m[f'identity {t}']['share_same_strict']:.0%})"
                               for t in ("-1", "+1"))
            rows.append(f"| {set_name} | {name} | {res['edited']}/{res['photos']} | {m['flip_to_smiling']:.0%} | "
                        f"{m['flip_to_plain']:.0%} | {m['mouth_widening_share_of_gap']:.0%} | "
                        f"{m['mouth_narrowing_share_of_gap']:.0%} | {ident} | {m['outside_max_grey_levels']:.1f} | "
                        f"{'-' if ts is None else format(ts['accuracy'], '.2f')} ({floor:.2f}) |")
    return head + "\n".join(rows) + "\n"


def save_strips(shown: list, columns: list[str], out: Path, stem: str, size: int = 200) -> list[Path]:
    """OUT/STEM_photos.png (each photo and its edits, resized to ``size`` px) and OUT/STEM_mouths.png (the
    mouth-and-cheeks frame of each, at 96 px, where teeth and lip edges can be seen)."""
    from facegen import plots

    photos = torch.stack([torch.stack([torch.nn.functional.interpolate(
        img[None], size=(size, round(img.shape[2] * size / img.shape[1])), mode="bilinear", antialias=True,
        align_corners=False)[0][..., :size] for img in row]) for _, _, row in shown])
    mouths = torch.stack([torch.stack([mouth_patch(img, face, 96) for img in row]) for _, face, row in shown])
    names = [name[:14] for name, _, _ in shown]
    paths = [out / f"{stem}_photos.png", out / f"{stem}_mouths.png"]
    plots.save_labelled_rows(photos.clamp(0, 1), names, paths[0], col_labels=columns)
    plots.save_labelled_rows(mouths.clamp(0, 1), names, paths[1], col_labels=columns)
    return paths


def editor_method(model, reshape: bool | None = None, draw: bool = True) -> Method:
    """The expression editor on one face (:func:`facegen.analysis.editing.mouth_editor.edit_mouths`), with or
    without its reshaping of the mouth, or the reshaping alone (``draw`` off: no pixel from its generator)."""
    from facegen.analysis.editing.mouth_editor import edit_mouths

    def method(photo: torch.Tensor, face: Face, t: float) -> torch.Tensor:
        return edit_mouths(model, photo, [face], t, reshape, draw)[0]

    return method


def residual_method(run, model) -> Method:
    """Residual editing with a CVAE run (the whole-face change of :mod:`facegen.analysis.editing.photo`)."""
    from facegen.analysis.editing.photo import alignment, edit_face, face_template, smile_judge

    template = face_template(run)
    judge = None if isinstance(model, SmilePredictor) else smile_judge(model, run)

    def method(photo: torch.Tensor, face: Face, t: float) -> torch.Tensor:
        to_crop, _ = alignment(face, template, run.size)
        return edit_face(model, run, photo, to_crop, [t], None, "residual", judge).photos[0]

    return method


def mouth_method(mouths: MouthSource, residual: Method | None = None, read: SmileReading | None = None) -> Method:
    """A new mouth drawn on one face by ``mouths`` (real mouths, :mod:`facegen.analysis.editing.exemplar`, or an
    editor's, :class:`~facegen.analysis.editing.mouth_source.DrawnMouths`), as ``edit_photo.py`` draws it; with
    ``residual`` (another method) onto that method's edit, made from the photo as it was; with ``read`` real
    mouths are chosen among a shortlist by how each reads."""

    def method(photo: torch.Tensor, face: Face, t: float) -> torch.Tensor:
        onto = None if residual is None else residual(photo, face, t)
        return mouths.edit(photo, [face], t, onto, read)[0]

    return method
