"""A new smile on any photo: find each face, align it to the run's training crop, edit it by residual editing,
and paste the change back into the photo at its own resolution.

- The template (where the run's crops put a face): the face and landmark detector of
  :mod:`facegen.data.landmarks` run on up to 300 of the run's training faces, decoded the way the run decoded
  them but at 256 px; the template is the mean face box and the mean eye centres (fractions of the crop),
  cached in the user's cache folder (:func:`template_file`; never in the run, which may be shared or read-only).
  Measuring the template with the same detector cancels its
  own habits (where its box sits on a face).
- Alignment: the similarity taking the photo's eye centres (from the landmarks) onto the template's (exact for
  two points), or, when the run's own faces showed too few eyes, the one taking the face box onto the template's.
- Edit: crop = the photo warped into the run's frame; y_own = the degree q(y|x) (semi-supervised runs) or the
  run's smile regressor gives the crop; z = the encoder's mean, with an "inverted" method the crop's MAP code,
  with a "pivotal" one that code and a decoder copy tuned on the crop (:mod:`facegen.analysis.editing.methods`,
  :mod:`facegen.analysis.editing.inversion`); the change
  decode(z, y_new) - decode(z, y_own), masked to where it is (:mod:`facegen.analysis.editing.residual`) ("replace":
  decode(z, y_new) - crop under the same mask), is carried back through the inverse alignment, feathered to zero
  at the crop's edge, and added to the photo (:func:`facegen.data.align.paste_change`). Pixels outside the
  aligned crop are never touched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from facegen.analysis.editing import inversion
from facegen.analysis.editing.exemplar import SmileReading
from facegen.analysis.editing.methods import PHOTO_METHODS, method_parts, own_degree
from facegen.analysis.editing.mouth_editor import edit_mouths, frame_tensor
from facegen.analysis.editing.mouth_source import MouthSource
from facegen.analysis.editing.residual import change_mask
from facegen.analysis.judges import pixel
from facegen.analysis.judges.judge import Judge
from facegen.analysis.latent import space
from facegen.core.errors import FacegenError
from facegen.core.files import user_cache_dir, write_json
from facegen.data import resolve_data
from facegen.data.align import invert, paste_change, similarity_from_box, to_template_eyes, warp
from facegen.data.cache import decode_images
from facegen.data.colour import is_monochrome
from facegen.data.landmarks import Face, faces_in_photo, find_faces
from facegen.models.base import Model
from facegen.models.capabilities import Editor, SmilePredictor
from facegen.runs import Run

TEMPLATES = "photo_templates"  # the user cache's folder of run templates (template_file)
TEMPLATE_SIZE = 256  # px at which the run's faces are searched for the template
INVERSION_STEPS, PIVOTAL_STEPS = 200, 50  # the settings measured in docs/identity.md


@dataclass
class Template:
    """Where the run's crops put a face, as fractions of the crop: the detector's box (x, y, w, h) and the eye
    centres (None when the eye detector found too few)."""

    box: tuple[float, float, float, float]
    eyes: tuple[tuple[float, float], tuple[float, float]] | None
    n_faces: int
    n_eyes: int


def measure_template(images: torch.Tensor) -> Template:
    """The mean detector box and eye centres over uint8 faces (N, C, S, S) (see the module docstring)."""
    size = images.shape[-1]
    boxes, eyes = [], []
    for img in images:
        rgb = img.permute(1, 2, 0).numpy()
        faces = find_faces(rgb if rgb.shape[2] == 3 else rgb[..., 0])
        if faces:
            boxes.append(faces[0].box)
            eyes.append(faces[0].eyes)
    if len(boxes) < 5:
        raise FacegenError(f"the face detector found only {len(boxes)} of {len(images)} of the run's own faces: "
                           f"its crops are not frontal faces it can place, so photos cannot be aligned to them")
    box = tuple(float(v) / size for v in np.mean(boxes, 0))
    mean_eyes = None
    if len(eyes) >= 5:
        e = np.mean(np.asarray(eyes, dtype=np.float64), 0) / size
        mean_eyes = ((float(e[0, 0]), float(e[0, 1])), (float(e[1, 0]), float(e[1, 1])))
    return Template(box, mean_eyes, len(boxes), len(eyes))


def _template_faces(run: Run, n: int, seed: int) -> list[Path]:
    """The files of up to ``n`` of the run's training faces the template is measured on."""
    train, _ = run.faces()
    d = run.data
    folder = resolve_data(d.data, d.labels, d.dataset, d.toy_dir, d.attrs, d.toy_n)[1]
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:n])
    return [folder / train.names[i] for i in pick]


def template_file(run: Run, n: int = 300, seed: int = 0) -> Path:
    """Where the run's template is cached: the user's cache folder (a run folder that is read is never written,
    so a shared or read-only run works), under a name keyed on the faces it is measured on."""
    key = hashlib.sha256("\n".join([f"size={TEMPLATE_SIZE}", *(str(p.resolve()) for p in
                                                                 _template_faces(run, n, seed))]).encode())
    return user_cache_dir() / TEMPLATES / f"{key.hexdigest()[:32]}.json"


def _read_template(path: Path) -> Template | None:
    """A cached template, or None when the file is missing or not one (it is then measured again)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        eyes = stored["eyes"]
        return Template(tuple(float(v) for v in stored["box"]),
                        None if eyes is None else (tuple(map(float, eyes[0])), tuple(map(float, eyes[1]))),
                        int(stored["n_faces"]), int(stored["n_eyes"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def face_template(run: Run, n: int = 300, seed: int = 0) -> Template:
    """The run's template, measured once on up to ``n`` of its training faces and cached in :func:`template_file`."""
    path = template_file(run, n, seed)
    template = _read_template(path)
    if template is None:
        template = measure_template(decode_images(_template_faces(run, n, seed), size=TEMPLATE_SIZE, channels=3,
                                                  cache_dir=None, desc="measuring the run's face template"))
        write_json(path, asdict(template))
    return template


def alignment(face: Face, template: Template, size: int) -> tuple[torch.Tensor, str]:
    """(T mapping photo pixels to the run's crop of ``size`` px, "eyes" or "box": what it was fitted on)."""
    if template.eyes is not None:
        return to_template_eyes(face.eyes, template.eyes, size), "eyes"
    return similarity_from_box(face.box, tuple(v * size for v in template.box)), "box"


def crop_face(photo: torch.Tensor, photo_to_crop: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """The aligned crop (channels, size, size) of a photo (C, H, W) in [0, 1] (colour averaged to grey for a
    grey run)."""
    crop = warp(photo.float(), invert(photo_to_crop), (size, size))
    if crop.shape[0] != channels:
        crop = crop.mean(0, keepdim=True) if channels == 1 else crop.expand(channels, -1, -1)
    return crop


def smile_judge(model: Model, run: Run) -> Judge | None:
    """What tells a photo's own smile: None for semi-supervised runs (their q(y|x) does), else the run's smile
    regressor (fitted on first use and cached in the user's cache folder: the run is only read)."""
    if isinstance(model, SmilePredictor):
        return None
    train, val = run.faces()
    if not pixel.has_smiles(train):
        raise FacegenError("the run has too few smile labels to judge a photo's own smile")
    return pixel.load_or_fit(pixel.cache_home(train, val), pixel.SMILE, train, val)


@torch.no_grad()
def edit_crop(model: Model, run: Run, crop: torch.Tensor, y_own: torch.Tensor, targets: list[float],
              method: str = "residual") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(the model's reconstruction of an aligned crop (1, C, S, S), the change to add to the crop for each target
    degree) by ``method`` (see :func:`edit_face`)."""
    code, applied = method_parts(method, PHOTO_METHODS)
    z = space.encode_images(model, crop, y_own)
    if code:
        z = inversion.invert_codes(model, crop, y_own, z, steps=INVERSION_STEPS)
    if code == "pivotal":
        model = next(inversion.tuned_models(model, crop, y_own, z, steps=PIVOTAL_STEPS))
    before = space.decode(model, z, y_own)
    changes = []
    for target in targets:
        after = space.decode(model, z, space.condition_vector(run, target, 1, base=y_own))
        changes.append(change_mask(after - before) * (after - before if applied == "residual" else after - crop))
    return before, changes


@dataclass
class FaceEdit:
    """One face's edit: the photos with it applied (one per target), its own degree, and in the run's frame the
    aligned crop, the model's reconstruction and the edited photos' crops (what the identity strip measures)."""

    photos: list[torch.Tensor]
    own: float
    crop: torch.Tensor
    reconstruction: torch.Tensor
    edited_crops: list[torch.Tensor]


def edit_face(model: Model, run: Run, photo: torch.Tensor, photo_to_crop: torch.Tensor, degrees: list[float] | None,
              shifts: list[float] | None, method: str = "residual", judge: Judge | None = None,
              **others: float) -> FaceEdit:
    """The photo with this face's smile set to each of ``degrees`` (or moved by each of ``shifts``), and the
    face's own degree. ``residual``: only the masked change the model makes is added (see the module
    docstring); ``replace``: where that change is, the model's edited face replaces the photo's; "inverted
    ...", "pivotal ...": the same after per-photo inversion (and pivotal tuning). ``judge``:
    :func:`smile_judge`'s answer (looked up here when not given)."""
    crop = crop_face(photo, photo_to_crop, run.size, run.channels)[None]
    if judge is None and not isinstance(model, SmilePredictor):
        judge = smile_judge(model, run)
    own = float(own_degree(model, judge, crop)[0])
    y_own = space.condition_vector(run, own, 1, **others)
    targets = degrees if degrees is not None else [max(-1.0, min(1.0, own + s)) for s in (shifts or [])]
    before, changes = edit_crop(model, run, crop, y_own, targets, method)
    if is_monochrome(crop[0]):  # a colour change would tint a black-and-white face
        changes = [c.mean(1, keepdim=True) for c in changes]
    photos = [paste_change(photo, change[0], photo_to_crop) for change in changes]
    return FaceEdit(photos, own, crop[0], before[0],
                    [crop_face(edited, photo_to_crop, run.size, run.channels) for edited in photos])


@dataclass
class PhotoEdit:
    """A whole photo's edit: the photo with every edited face's change added, one per target; the faces edited
    (largest first), what each was aligned by ("eyes" or "box") and each face's own :class:`FaceEdit`."""

    photos: list[torch.Tensor]
    faces: list[Face]
    aligned_by: list[str]
    edits: list[FaceEdit]


def edit_photo(model: Model, run: Run, photo: torch.Tensor, template: Template | None, degrees: list[float] | None,
               shifts: list[float] | None, method: str = "residual", judge: Judge | None = None,
               face: int | None = None, name: str = "the photo", mouths: MouthSource | None = None,
               **others: float) -> PhotoEdit:
    """Every face in ``photo`` (3, H, W) in [0, 1] large and frontal enough (or only face number ``face``, 1 the
    largest) given each of ``degrees`` (or moved by each of ``shifts``): by :func:`edit_face` with a CVAE run
    (``template`` its face template; each face is edited on the photo as it is and the changes are added up; with
    ``mouths`` each face's mouth is then drawn anew at the degree asked for onto that edit: a real mouth blended
    in, :mod:`facegen.analysis.editing.exemplar`, or a network's, :mod:`facegen.analysis.editing.mouth_source`), by
    :func:`edit_face_with_editor` with an expression editor (``template`` None; the faces one after another). A
    photo with no face to edit is a one-line error naming it as ``name``."""
    faces = faces_in_photo(photo)
    if not faces:
        raise FacegenError(f"no face found in {name}: give a photo of a face seen from the front, at least 48 px wide")
    large = [f for f in faces if f.refusal() is None]
    if not large:
        raise FacegenError(f"the face in {name} cannot be edited: {faces[0].refusal()}")
    if face is not None:
        if not 1 <= face <= len(large):
            raise FacegenError(f"--face {face}: {name} has {len(large)} face(s) large enough to edit")
        large = [large[face - 1]]
    if isinstance(model, Editor):
        edits = []
        for found in large:
            edits.append(edit_face_with_editor(model, edits[-1].photos if edits else None, photo, found, degrees,
                                               shifts))
        return PhotoEdit(edits[-1].photos, large, ["landmarks"] * len(large), edits)
    if judge is None and not isinstance(model, SmilePredictor):
        judge = smile_judge(model, run)
    edited = [photo] * len(degrees if degrees is not None else shifts or [])
    aligned_by, edits, to_crops = [], [], []
    for found in large:
        t, how = alignment(found, template, run.size)
        done = edit_face(model, run, photo, t, degrees, shifts, method, judge, **others)
        edited = [image + (new - photo) for image, new in zip(edited, done.photos, strict=True)]
        aligned_by.append(how)
        edits.append(done)
        to_crops.append(t)
    if mouths is not None:
        read = smile_reading(model, run, template, judge)
        edited = with_new_mouths(mouths, run, photo, edited, large, edits, to_crops, degrees, shifts, read)
    return PhotoEdit(edited, large, aligned_by, edits)


def smile_reading(model: Model, run: Run, template: Template, judge: Judge | None) -> SmileReading:
    """The run's own reading of a face's smile in a photo (:func:`own_degree` on its aligned crop): what the
    exemplar editor ranks its shortlist of real mouths by. ``judge``: :func:`smile_judge`'s answer."""

    @torch.no_grad()
    def read(photo: torch.Tensor, face: Face) -> float:
        to_crop, _ = alignment(face, template, run.size)
        return float(own_degree(model, judge, crop_face(photo, to_crop, run.size, run.channels)[None])[0])

    return read


def with_new_mouths(mouths: MouthSource, run: Run, photo: torch.Tensor, edited: list[torch.Tensor],
                    faces: list[Face], edits: list[FaceEdit], to_crops: list[torch.Tensor],
                    degrees: list[float] | None, shifts: list[float] | None, read: SmileReading | None = None
                    ) -> list[torch.Tensor]:
    """``edited`` (one photo per target) with every face's mouth drawn anew by ``mouths`` at its target degree (a
    shift's target is the face's own degree moved by it, kept in -1..1), made from ``photo`` (real mouths: with
    ``read``, chosen among a shortlist by how each reads); each face's edited crops are cut again (through its alignment
    ``to_crops``) from the result, so the identity strip measures what the user gets."""
    for found, done in zip(faces, edits, strict=True):
        targets = degrees if degrees is not None else [max(-1.0, min(1.0, done.own + s)) for s in shifts or []]
        edited = [mouths.edit(photo, [found], t, image, read)[0] for image, t in zip(edited, targets, strict=True)]
    for done, to_crop in zip(edits, to_crops, strict=True):
        done.edited_crops = [crop_face(image, to_crop, run.size, run.channels) for image in edited]
    return edited


@torch.no_grad()
def edit_face_with_editor(model: Model, edited: list[torch.Tensor] | None, photo: torch.Tensor, face: Face,
                          degrees: list[float] | None, shifts: list[float] | None) -> FaceEdit:
    """One face of ``photo`` set to each of ``degrees`` (or moved by each of ``shifts`` from its own degree, the
    editor's critic's reading of its mouth) by an expression editor, on top of ``edited`` (the photos with the
    faces before it already edited; None for the first). The crop is the face's mouth patch, its
    "reconstruction" the editor's output at the face's own degree."""
    size = model.size
    patch = warp(photo.float(), invert(frame_tensor(face, size)), (size, size))
    own = float(model.degree(patch[None])[0, 0])
    targets = degrees if degrees is not None else [max(-1.0, min(1.0, own + s)) for s in (shifts or [])]
    photos = [edit_mouths(model, base, [face], t)[0] for base, t in zip(edited or [photo] * len(targets), targets,
                                                                        strict=True)]
    at_own = model.edit(patch[None], torch.full((1, model.cond_dim), own))[0][0]
    return FaceEdit(photos, own, patch, at_own, [warp(p, invert(frame_tensor(face, size)), (size, size))
                                                 for p in photos])
