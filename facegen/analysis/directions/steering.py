"""The one code path from a method name to directions: ``--method mean_diff|svm|interfacegan|pca|ganspace|sefa``.

| method         | needs                                  | finds                                            |
|----------------|----------------------------------------|--------------------------------------------------|
| ``mean_diff``  | encode; the dataset labels the attribute | difference of the mean codes with and without it |
| ``svm``        | encode; the dataset labels the attribute | a linear SVM's normal on the codes              |
| ``interfacegan`` | decode and sample; a judge of the attribute | a linear SVM's normal on judged prior samples |
| ``pca``        | encode                                 | principal axes of the posterior means            |
| ``ganspace``   | decode; ``generator_features``          | PCA of a generator activation, back in latent space |
| ``sefa``       | decode; ``first_layer_weight``          | eigenvectors of A^T A of the first layer          |

Attribute methods take ``fixed`` attributes whose directions (found by the same method) are projected out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facegen.analysis.directions.attribute import (
    interfacegan_direction,
    mean_difference_direction,
    project_out,
    svm_direction,
)
from facegen.analysis.directions.direction import Direction, Directions, prior_samples
from facegen.analysis.directions.principal import PRINCIPAL, principal_directions
from facegen.analysis.judges.by_attribute import Judges
from facegen.analysis.latent.space import decode, encode_faces
from facegen.core.errors import FacegenError
from facegen.data.celeba import normalize_attr_name
from facegen.data.faceset import FaceSet
from facegen.models.base import Model
from facegen.models.capabilities import Decoder, Encoder, Sampler, require
from facegen.runs import Run

ATTRIBUTE_METHODS = ("mean_diff", "svm", "interfacegan")
METHODS = ATTRIBUTE_METHODS + PRINCIPAL


@dataclass(frozen=True)
class Sampling:
    """How InterFaceGAN and GANSpace draw their prior samples, and the confident share InterFaceGAN keeps."""

    n_samples: int = 2000
    share: float = 0.3
    seed: int = 0


SAMPLING = Sampling()


def check_method(method: str) -> None:
    if method not in METHODS:
        raise FacegenError(f"unknown --method {method!r}: use one of {', '.join(METHODS)}")


# ---- labels from the dataset (mean_diff, svm) -----------------------------------------------------------------
def dataset_attribute(faces: FaceSet, name: str) -> str:
    """The attribute of the run's data that ``name`` means: ``smile`` (labelled smile degrees), ``gender`` (from
    the file names) or a CelebA attribute; a one-line error when the data does not label it."""
    has_smile = "smile" in faces.cond_names and bool(faces.labelled.any())
    has_gender = "gender" in faces.meta and bool((faces.meta["gender"] >= 0).any())
    if name.lower() == "smile" and has_smile:
        return "smile"
    if name.lower() == "gender" and has_gender:
        return "gender"
    if "attrs" in faces.meta:
        return normalize_attr_name(name, faces.attr_names)
    have = [n for n, ok in (("smile", has_smile), ("gender", has_gender)) if ok]
    raise FacegenError(f"the faces of this run ({faces.source}) do not label {name!r} (they label "
                       f"{', '.join(have) or 'nothing'}): use --method interfacegan, which labels samples with "
                       f"the project's judges")


def dataset_labels(faces: FaceSet, name: str) -> torch.Tensor:
    """Labels (N,) of attribute ``name`` (from :func:`dataset_attribute`): +1 has it, -1 not, 0 unknown. Smile:
    labelled degree > 0; gender: +1 female (as the gender condition); CelebA: the attribute file."""
    if name == "smile":
        degree = faces.cond[:, faces.cond_names.index("smile")]
        return torch.where(faces.labelled, torch.where(degree > 0, 1, -1), 0)
    if name == "gender":
        g = faces.meta["gender"]
        return torch.where(g < 0, 0, torch.where(g == 1, 1, -1))
    return faces.meta["attrs"][:, faces.attr_names.index(name)].long()


# ---- attribute directions -------------------------------------------------------------------------------------
class AttributeSource:
    """The codes attribute directions are found on, computed once for several attributes and methods: the
    posterior means of the run's faces with the dataset's labels (mean_diff, svm), or decoded prior samples
    scored by the judges (interfacegan)."""

    def __init__(self, run: Run, model: Model, kind: str, judges: Judges | None = None,
                 sampling: Sampling = SAMPLING):
        self.kind, self.judges, self.sampling = kind, judges, sampling
        if kind == "samples":
            require(model, Decoder, "--method interfacegan (judging decoded prior samples)")
            require(model, Sampler, "--method interfacegan (drawing codes from the prior)")
            if judges is None:
                raise ValueError("prior samples are labelled by judges")
            self.codes, y = prior_samples(run, model, sampling.n_samples, sampling.seed)
            self.images = decode(model, self.codes, y)
            self.center = np.zeros(model.latent_size)
        else:
            require(model, Encoder, "--method mean_diff or svm (codes of the run's labelled faces)")
            self.faces = run.all_faces()
            self.codes = encode_faces(model, self.faces)[0]
            self.center = self.codes.double().mean(0).numpy()

    @classmethod
    def for_method(cls, run: Run, model: Model, method: str, judges: Judges | None = None,
                   sampling: Sampling = SAMPLING) -> AttributeSource:
        return cls(run, model, "samples" if method == "interfacegan" else "data", judges, sampling)

    def resolve(self, name: str) -> str:
        return self.judges.resolve(name) if self.kind == "samples" else dataset_attribute(self.faces, name)

    def direction(self, name: str, method: str) -> Direction:
        if self.kind == "samples":
            scores = self.judges.scores(self.images, [name])[name]
            return interfacegan_direction(self.codes, scores, name, self.sampling.share, self.sampling.seed)
        labels = dataset_labels(self.faces, name)
        known = labels != 0
        codes, labels = self.codes[known], labels[known]
        if method == "mean_diff":
            return mean_difference_direction(codes, labels, name)
        return svm_direction(codes, labels, name, self.sampling.seed)


def attribute_directions(run: Run, model: Model, method: str, attribute: str, fixed: list[str] = (),
                         judges: Judges | None = None, sampling: Sampling = SAMPLING,
                         source: AttributeSource | None = None) -> Directions:
    """The direction of ``attribute`` by ``method`` and, with ``fixed``, the same direction with the fixed
    attributes' directions projected out (a second row, named "TARGET given A,B"). Both rows get the plain
    direction's step. info: accuracy, step, the fixed directions' normals, accuracies and cosines."""
    source = source or AttributeSource.for_method(run, model, method, judges, sampling)
    target = source.resolve(attribute)
    conditions = [c for c in dict.fromkeys(source.resolve(f) for f in fixed) if c != target]
    plain = source.direction(target, method)
    given = [source.direction(c, method) for c in conditions]
    names, vectors = [target], [plain.normal]
    info = {"attribute": target, "accuracy": plain.accuracy, "balanced_accuracy": plain.balanced_accuracy,
            "step": plain.step, "n_train": plain.n_train, "n_test": plain.n_test}
    if method == "interfacegan":
        info.update(judge=source.judges.get(target).what, share=sampling.share, n_samples=sampling.n_samples)
    if conditions:
        conditioned = project_out(plain.normal, [g.normal for g in given])
        names.append(f"{target} given {','.join(conditions)}")
        vectors.append(conditioned)
        info["conditioned"] = {
            "conditions": conditions, "cosine_to_plain": float(plain.normal @ conditioned),
            "condition_accuracy": {g.attribute: g.accuracy for g in given},
            "plain_cosine_to_condition": {g.attribute: float(plain.normal @ g.normal) for g in given},
            "condition_normals": [g.normal.tolist() for g in given]}
    return Directions(method, names, np.stack(vectors), np.full(len(names), plain.step), source.center, info)


def find_directions(run: Run, model: Model, method: str, *, attribute: str | None = None, fixed: list[str] = (),
                    k: int | None = None, judges: Judges | None = None,
                    sampling: Sampling = SAMPLING) -> Directions:
    """Directions of any method: an attribute's (``attribute``, optionally with ``fixed``) or the top ``k``
    principal ones (all of them when k is None)."""
    check_method(method)
    require(model, Decoder, f"steering with --method {method}")
    if method in ATTRIBUTE_METHODS:
        if attribute is None:
            raise FacegenError(f"--method {method} finds an attribute's direction: pass --attribute NAME")
        return attribute_directions(run, model, method, attribute, list(fixed), judges, sampling)
    return principal_directions(run, model, method, model.latent_size if k is None else k, sampling.n_samples,
                                sampling.seed)
