"""The smile judge of edits: the CelebA attribute net's ``Smiling`` output, on faces aligned to CelebA's framing.

It is a convolutional network trained on 9,000 real CelebA faces (``train_feature_net.py``), separately from
every editor and from whatever labelled the editors' training faces (the human degrees of UTKFace and a
regression on mouth landmarks), so it did not make the edits and a bright bar across a mouth is not what it
learnt a smile to be.

Framing: CelebA's aligned images put the eyes at fixed places. :func:`measure_template` finds, with the same
landmark detector used on photos, where the eye centres sit in the net's input (the mean over a few hundred
CelebA faces decoded as the net saw them); a face in any photo is then brought there by the similarity that
takes its eye centres onto the template's (:func:`facegen.data.align.similarity_from_points`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.align import crop_to_eyes
from facegen.data.landmarks import Face, faces_in_photo, find_faces
from facegen.nn.attrnet import AttributeNet, load_attribute_net, predict_probs

TEMPLATE_FILE = "smile_judge_template.json"
MEASURE_SIZE = 256  # px at which CelebA faces are decoded to find their eyes


@dataclass
class CelebASmileJudge:
    """P(smiling) of faces in photos: the attribute net and where its input puts the eye centres (fractions)."""

    net: AttributeNet
    column: int
    eyes: tuple[tuple[float, float], tuple[float, float]]

    def crops(self, photo: torch.Tensor, faces: list[Face]) -> torch.Tensor:
        """The net's view (N, C, S, S) of each face in a photo (3, H, W) in [0, 1]."""
        return torch.stack([crop_to_eyes(photo, face.eyes, self.eyes, self.net.size) for face in faces])

    def smiling(self, photo: torch.Tensor, faces: list[Face]) -> torch.Tensor:
        """P(Smiling) (N,) of each face of a photo."""
        return predict_probs(self.net, self.crops(photo, faces))[:, self.column]

    def smiling_images(self, crops: torch.Tensor) -> torch.Tensor:
        """P(Smiling) (N,) of crops already in the net's framing."""
        return predict_probs(self.net, crops)[:, self.column]


def measure_template(images: torch.Tensor) -> tuple[tuple[float, float], tuple[float, float]]:
    """Mean eye centres, as fractions of the side, of uint8 faces (N, 3, S, S) (those the detector finds)."""
    size = images.shape[-1]
    found = []
    for img in images:
        faces = find_faces(img.permute(1, 2, 0).numpy())
        if faces:
            found.append(faces[0].eyes)
    if len(found) < 10:
        raise FacegenError(f"the landmark detector found only {len(found)} of {len(images)} CelebA faces: cannot "
                           "place the judge's framing")
    e = np.mean(np.asarray(found, np.float64), 0) / size
    return (float(e[0, 0]), float(e[0, 1])), (float(e[1, 0]), float(e[1, 1]))


def build_template(feature_run: Path, celeba_dir: Path, attrs: Path, n: int = 300) -> Path:
    """Measure the template on ``n`` CelebA faces cropped as the net was trained, and write it beside the net."""
    from facegen.data.cache import decode_images
    from facegen.data.celeba import FACE_CROP, read_celeba_attrs

    files = read_celeba_attrs(attrs)[1][:n]
    images = decode_images([Path(celeba_dir) / f for f in files], size=MEASURE_SIZE, channels=3, crop=FACE_CROP,
                           cache_dir=None, desc="measuring the smile judge's framing")
    eyes = measure_template(images)
    path = Path(feature_run) / TEMPLATE_FILE
    write_json(path, {"eyes": eyes, "faces": len(images)})
    return path


def load_judge(feature_run: Path) -> CelebASmileJudge:
    """The judge of a ``train_feature_net.py`` run whose template was measured (:func:`build_template`)."""
    net, names = load_attribute_net(Path(feature_run) / "attribute_net.pt")
    if "Smiling" not in names:
        raise FacegenError(f"the attribute net in {feature_run} has no Smiling output: train it on CelebA")
    path = Path(feature_run) / TEMPLATE_FILE
    if not path.is_file():
        raise FacegenError(f"{path} not found: run build_smile_judge.py --feature_net {feature_run} first")
    try:
        eyes = json.loads(path.read_text(encoding="utf-8"))["eyes"]
    except (ValueError, KeyError) as e:
        raise FacegenError(f"cannot read {path} ({type(e).__name__}): measure it again with "
                           f"build_smile_judge.py") from None
    return CelebASmileJudge(net, names.index("Smiling"), (tuple(eyes[0]), tuple(eyes[1])))


def judge_photo_faces(judge: CelebASmileJudge, photo: torch.Tensor) -> tuple[list[Face], torch.Tensor]:
    """(faces found in a photo (3, H, W) in [0, 1], their P(Smiling))."""
    faces = faces_in_photo(photo)
    return faces, judge.smiling(photo, faces) if faces else torch.zeros(0)


def check_against_humans(judge: CelebASmileJudge, photos: list[torch.Tensor], degrees: list[float]) -> dict:
    """How the judge agrees with human smile degrees on labelled photos: share of photos with a face found, sign
    agreement (P > 0.5 against degree > 0), ROC AUC and the correlation of P with the degree."""
    from sklearn.metrics import roc_auc_score

    probs, kept = [], []
    for photo, degree in zip(photos, degrees, strict=True):
        faces, p = judge_photo_faces(judge, photo)
        if faces:
            probs.append(float(p[0]))
            kept.append(degree)
    p, d = np.array(probs), np.array(kept)
    return {"photos": len(photos), "judged": len(p), "sign_agreement": float(((p > 0.5) == (d > 0)).mean()),
            "roc_auc": float(roc_auc_score(d > 0, p)), "correlation": float(np.corrcoef(p, d)[0, 1]),
            "share_smiling_judge": float((p > 0.5).mean()), "share_smiling_humans": float((d > 0).mean())}
