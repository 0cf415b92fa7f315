"""edit_photo.py's work on files: a photo or a folder of photos, each edited by :func:`~.photo.edit_photo` and
written as OUT/NAME_smile+0.8.png (one per value) with OUT/NAME_strip.png (before | after). A photo of a folder
that cannot be edited gets one line and the others are still done; no input photo is ever written over."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facegen import plots
from facegen.analysis.editing.model_card import photo_template
from facegen.analysis.editing.mouth_source import MouthSource, load_mouths
from facegen.analysis.editing.photo import FaceEdit, Template, edit_photo, smile_judge
from facegen.analysis.judges.judge import Judge
from facegen.analysis.latent import space
from facegen.core.errors import FacegenError
from facegen.data.cache import IMAGE_SUFFIXES, list_images
from facegen.data.photos import read_photo
from facegen.models.base import Model
from facegen.models.capabilities import Decoder, Editor, Encoder, require
from facegen.runs import Run

STRIP_HEIGHT = 256  # px: photos are shrunk to this height in the before / after strip


@dataclass(frozen=True)
class PhotoJob:
    """What to do to the photos: give each face each of ``values`` as its smile degree, or (``shift``) move its
    own degree by each; ``face`` K edits only the K-th largest face; ``identity`` an identity run that measures
    the edits in the run's crops; ``mouths`` what draws each mouth anew onto a CVAE run's edits, a mouth bank
    (build_mouth_bank.py) or a taught editor (:mod:`~.mouth_source`; None: the run's edits alone); ``others``
    the other conditions' values."""

    photos: Path
    out: Path
    values: list[float]
    shift: bool = False
    method: str = "residual"
    face: int | None = None
    identity: Path | None = None
    others: dict[str, float] = field(default_factory=dict)
    mouths: Path | None = None

    @property
    def tag(self) -> str:
        return "shift" if self.shift else "smile"

    def outputs(self, path: Path) -> list[Path]:
        """What editing ``path`` writes: OUT/NAME_TAG+V.png per value, then OUT/NAME_strip.png."""
        return [*(self.out / f"{path.stem}_{self.tag}{v:+g}.png" for v in self.values),
                self.out / f"{path.stem}_strip.png"]


def photo_paths(job: PhotoJob) -> list[Path]:
    """The photos to edit (one, or every image of a folder), refusing in one line a job whose outputs would land
    on one of them (e.g. --out the photos' own folder holding face.jpg and face_smile+1.png)."""
    if not job.photos.exists():
        raise FacegenError(f"{job.photos} not found: give a photo or a folder of photos")
    folder = job.photos.is_dir()
    photos = list_images(job.photos, "give a photo or a folder of photos") if folder else [job.photos]
    if not folder and job.photos.suffix.lower() not in IMAGE_SUFFIXES:
        raise FacegenError(f"{job.photos} is not a photo ({' '.join(IMAGE_SUFFIXES)})")
    inputs = {p.resolve(): p for p in photos}
    for path in photos:
        for target in [*job.outputs(path), job.out / "identity_strip.png", job.out / "identity.json"]:
            if target.resolve() in inputs:
                raise FacegenError(f"--out {job.out}: editing {path.name} would write {target.name} over the input "
                                   f"photo {inputs[target.resolve()]}; pass another --out (e.g. a new folder)")
    return photos


def require_code_editing(run: Run, model: Model) -> None:
    """One line unless the run's model can edit a photo's smile through its code (a CVAE): an encoder, a decoder
    and conditions."""
    require(model, Encoder, "editing photos")
    require(model, Decoder, "editing photos")
    space.require_conditional(run, "editing a photo's smile")


def check_job(run: Run, model: Model, job: PhotoJob) -> None:
    """One line for a job the run cannot do: a run that is no expression editor must edit through its code
    (:func:`require_code_editing`); an expression editor edits without --identity and --method."""
    if not isinstance(model, Editor):
        require_code_editing(run, model)
    elif job.identity is not None:
        raise FacegenError("--identity measures a CVAE run's edits in its own crops; an expression editor's edits are "
                           "measured by compare_smile_editors.py: drop --identity")
    elif job.method != "residual":
        raise FacegenError(f"--method {job.method} is a way of editing with a CVAE run; {run.path.name} is an "
                           "expression editor: drop --method")
    elif job.mouths is not None:
        raise FacegenError(f"--mouths draws new mouths onto a CVAE run's edits; {run.path.name} is an expression "
                           "editor, which draws its own: drop --mouths")


def edit_one(path: Path, job: PhotoJob, run: Run, model: Model, template: Template | None, judge: Judge | None,
             crops: list[tuple[str, FaceEdit]], mouths: MouthSource | None = None) -> list[Path]:
    """Edit the photo in ``path`` and write its edits and strip; its faces' crops are added to ``crops``."""
    photo = read_photo(path)
    degrees, shifts = (None, job.values) if job.shift else (job.values, None)
    done = edit_photo(model, run, photo, template, degrees, shifts, job.method, judge, job.face, str(path), mouths,
                      **job.others)
    for k, face_edit in enumerate(done.edits):
        crops.append((f"{path.stem[:12]} {k + 1}" if len(done.edits) > 1 else path.stem[:14], face_edit))
    job.out.mkdir(parents=True, exist_ok=True)
    *written, strip_file = job.outputs(path)
    for out, image in zip(written, done.photos, strict=True):
        plots.save_image(image, out)
    strip = torch.stack([photo, *done.photos])
    h = min(STRIP_HEIGHT, photo.shape[1])
    strip = torch.nn.functional.interpolate(strip, size=(h, round(photo.shape[2] * h / photo.shape[1])),
                                            mode="bilinear", antialias=True, align_corners=False)
    plots.save_labelled_rows(strip[None], [path.stem[:16]], strip_file,
                             col_labels=["photo", *(f"{job.tag} {v:+g}" for v in job.values)])
    print(f"{path.name}: {len(done.edits)} face(s) edited (aligned by {', '.join(sorted(set(done.aligned_by)))}) -> "
          f"{', '.join(p.name for p in written)} in {job.out}")
    return written


def edit_photos(run: Run, model: Model, job: PhotoJob, photos: list[Path]) -> tuple[list[tuple[str, FaceEdit]], int]:
    """Edit ``photos`` (:func:`photo_paths`) as ``job`` says with the run's model: every face's name and edit,
    and how many photos could not be edited (each said in one line; a single photo that cannot be is a one-line
    error)."""
    if run.channels == 1:
        print("note: the run is greyscale; colour photos are edited through their grey version")
    editor = isinstance(model, Editor)
    template = None if editor else photo_template(run)
    judge = None if editor else smile_judge(model, run)
    mouths = None if job.mouths is None else load_mouths(job.mouths)
    crops: list[tuple[str, FaceEdit]] = []
    failed = 0
    for path in photos:
        try:
            edit_one(path, job, run, model, template, judge, crops, mouths)
        except FacegenError as e:
            if len(photos) == 1:
                raise
            failed += 1
            print(f"skipped {path.name}: {e}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(photos)} photos could not be edited (see above)", file=sys.stderr)
    return crops, failed
