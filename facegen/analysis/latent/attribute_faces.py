"""The faces the attribute scripts work on: a run's CelebA faces (or others given by flag), attribute names,
the run's held-out faces, face ids and user photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.data.celeba import normalize_attr_name
from facegen.data.faceset import FaceSet
from facegen.runs import Run

MALE = "Male"


def attribute_faces(run: Run, data: Path | None = None, attrs: Path | None = None) -> FaceSet:
    """Every face of the run's dataset, or of the CelebA folder ``data`` with attribute file ``attrs``
    (decoded at the run's size and channels), with its 40 attributes."""
    spec = run.data
    if data is not None or attrs is not None:
        spec = replace(spec, dataset="celeba", data=data or spec.data, attrs=attrs or spec.attrs)
    faces = spec.load()
    if "attrs" not in faces.meta:
        raise FacegenError(f"the faces of this run ({faces.source}) have no CelebA attributes: pass --data "
                           f"DIR/img_align_celeba --attrs DIR/list_attr_celeba.txt")
    return faces


def heldout(run: Run, faces: FaceSet) -> FaceSet:
    """The faces of the run's validation split (the same split the run was trained with)."""
    return run.data.split(faces)[1]


def resolve_attribute(name: str, faces: FaceSet) -> str:
    """The canonical attribute name for ``name`` (case and spelling forgiven), or a one-line error."""
    return normalize_attr_name(name, faces.attr_names)


def attribute_column(faces: FaceSet, name: str) -> torch.Tensor:
    """+1 / -1 labels (N,) of one attribute."""
    return faces.meta["attrs"][:, faces.attr_names.index(name)]


def pick(faces: FaceSet, mask: torch.Tensor, n: int, seed: int, what: str) -> FaceSet:
    """Up to ``n`` faces where ``mask`` holds, drawn at random (fixed by ``seed``), in file order."""
    idx = mask.nonzero().squeeze(1)
    if len(idx) == 0:
        raise FacegenError(f"no face is {what}: use more faces or another attribute")
    chosen = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))[:n]]
    return faces.subset(chosen.sort().values)


def face_index(faces: FaceSet, face_id: str) -> int:
    """The position of a face given by file name ("000042.jpg") or CelebA id ("42", "000042")."""
    wanted = {face_id, f"{face_id}.jpg"}
    if face_id.isdigit():
        wanted.add(f"{int(face_id):06d}.jpg")
    for i, name in enumerate(faces.names):
        if name in wanted or Path(name).stem in wanted:
            return i
    raise FacegenError(f"no face with id {face_id!r} among the {len(faces)} faces of {faces.source}: give a "
                       f"CelebA id such as 000042 (or 42) of an image in the folder")


def gender(faces: FaceSet) -> torch.Tensor:
    """1 for men, 0 for women, -1 unknown (N,): CelebA's Male attribute, or UTKFace's gender field."""
    if "attrs" in faces.meta and MALE in faces.attr_names:
        return (attribute_column(faces, MALE) > 0).long()
    if "gender" in faces.meta:
        g = faces.meta["gender"].long()  # 0 male, 1 female, -1 unknown
        return torch.where(g < 0, -1, 1 - g)
    raise FacegenError(f"the faces of this run ({faces.source}) have no gender labels: pick pairs another way")
