"""Small judges of images, trained by the project on a run's own faces: a smile regressor and a gender classifier.

Both are linear models (scikit-learn) on downsampled grey pixels, fitted on the faces and their mirror
images: fast (seconds, where a small CNN took minutes on two cores), deterministic, and blurred enough
that the judgement transfers from real photos to a VAE's smoother samples. Each is fitted on the run's
training faces, scored on its validation faces, and cached in ``RUN/evaluators/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write, user_cache_dir
from facegen.data.faceset import FaceSet

if TYPE_CHECKING:  # scikit-learn and joblib are imported where a judge is fitted or read, not with the module
    from sklearn.pipeline import Pipeline

FEATURE_SIZE = 24  # pixels per side the judges see
MIN_FACES = 8
MAX_GENDER_FACES = 10_000  # enough for a linear model, and it keeps fitting to seconds
SMILE, GENDER = "smile_regressor", "gender_classifier"
FORMAT_VERSION = 2


@dataclass
class Judge:
    """A fitted scikit-learn pipeline plus what its held-out faces said about it."""

    model: Pipeline
    heldout: dict


def features(images: torch.Tensor) -> np.ndarray:
    """(N, FEATURE_SIZE**2) grey pixels of images (uint8, or float in [0, 1]), antialiased down to the judges' size."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    x = x.mean(1, keepdim=True)
    x = F.interpolate(x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.flatten(1).numpy().astype(np.float64)


def _mirrored(images: torch.Tensor, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of the images and of their mirror images (smile and gender do not change in a mirror)."""
    return features(torch.cat([images, images.flip(-1)])), np.concatenate([targets, targets])


def smile_degrees(judge: Judge, images: torch.Tensor) -> np.ndarray:
    """Predicted smile degree of each image, clipped to [-1, 1]."""
    return np.clip(judge.model.predict(features(images)), -1, 1)


def female_probability(judge: Judge, images: torch.Tensor) -> np.ndarray:
    """Probability the classifier gives each image of being female."""
    return judge.model.predict_proba(features(images))[:, 1]


def _smile_data(faces: FaceSet) -> tuple[torch.Tensor, np.ndarray]:
    if faces.cond.shape[1] == 0:
        return faces.images[:0], np.zeros(0)
    return faces.images[faces.labelled], faces.cond[faces.labelled, 0].double().numpy()


def _gender_data(faces: FaceSet) -> tuple[torch.Tensor, np.ndarray]:
    """Faces of known gender: all of them, or a fixed random MAX_GENDER_FACES when there are more."""
    gender = faces.meta.get("gender", torch.full((len(faces),), -1))
    keep = torch.nonzero(gender >= 0).flatten()
    if len(keep) > MAX_GENDER_FACES:
        keep = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(0))[:MAX_GENDER_FACES]]
    return faces.images[keep], gender[keep].numpy()


def has_smiles(faces: FaceSet) -> bool:
    """Whether enough faces carry a smile degree to fit the smile regressor."""
    return len(_smile_data(faces)[1]) >= MIN_FACES


def has_genders(faces: FaceSet) -> bool:
    """Whether enough faces of each gender are known to fit the gender classifier."""
    y = _gender_data(faces)[1]
    return min((y == 0).sum(), (y == 1).sum()) >= MIN_FACES // 2


def fit_smile_regressor(train: FaceSet, val: FaceSet) -> Judge:
    """Ridge regression (alpha by cross-validation) from pixels to the labelled smile degree."""
    x, y = _smile_data(train)
    if not has_smiles(train):
        raise FacegenError(f"only {len(y)} training faces carry a smile degree; the smile regressor needs "
                           f"at least {MIN_FACES}")
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 5, 11))).fit(*_mirrored(x, y))
    xv, yv = _smile_data(val)
    heldout: dict = {"n_train": len(y), "n_heldout": len(yv)}
    if len(yv) >= 2:
        pred = np.clip(model.predict(features(xv)), -1, 1)
        heldout.update(mae=float(np.abs(pred - yv).mean()), correlation=float(np.corrcoef(pred, yv)[0, 1]))
    return Judge(model, heldout)


def fit_gender_classifier(train: FaceSet, val: FaceSet) -> Judge:
    """Logistic regression from pixels to the gender in the file names (0 male, 1 female)."""
    x, y = _gender_data(train)
    if not has_genders(train):
        raise FacegenError(f"the gender classifier needs at least {MIN_FACES // 2} training faces of each gender "
                           f"(found {int((y == 0).sum())} male, {int((y == 1).sum())} female)")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000)).fit(*_mirrored(x, y))
    xv, yv = _gender_data(val)
    heldout: dict = {"n_train": len(y), "n_heldout": len(yv)}
    if len(yv):
        heldout["accuracy"] = float((model.predict(features(xv)) == yv).mean())
    return Judge(model, heldout)


def _cached(path: Path) -> Judge | None:
    import joblib

    try:
        stored = joblib.load(path)
        if stored.get("version") == FORMAT_VERSION and stored.get("feature_size") == FEATURE_SIZE:
            return Judge(stored["model"], stored["heldout"])
    except Exception:  # noqa: BLE001 - an unreadable or outdated cache counts as absent
        pass
    return None


def cache_home(train: FaceSet, val: FaceSet) -> Path:
    """The folder in the user's cache that stands in for a run's own (``load_or_fit(cache_home(...), ...)``) when a
    script reads a run and must not write into it; keyed on the faces' pixels, labels and genders."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION} features={FEATURE_SIZE}".encode())
    for faces in (train, val):
        for t in (faces.images, faces.cond, faces.meta.get("gender", torch.zeros(0))):
            digest.update(t.contiguous().numpy().tobytes())
    return user_cache_dir() / "judges" / digest.hexdigest()[:32]


def load_from(run: Path, name: str) -> Judge:
    """The judge ``name`` another run cached (so two runs are scored by the same judges)."""
    judge = _cached(run / "evaluators" / f"{name}.joblib")
    if judge is None:
        raise FacegenError(f"{run} has no cached {name.replace('_', ' ')}: run evaluate.py --run {run} first")
    return judge


def load_or_fit(run: Path, name: str, train: FaceSet, val: FaceSet) -> Judge:
    """The run's cached judge ``name`` (SMILE or GENDER), fitted and cached on first use."""
    path = run / "evaluators" / f"{name}.joblib"
    if path.exists() and (judge := _cached(path)) is not None:
        return judge
    judge = (fit_smile_regressor if name == SMILE else fit_gender_classifier)(train, val)
    import joblib

    atomic_write(path, lambda tmp: joblib.dump({"version": FORMAT_VERSION, "feature_size": FEATURE_SIZE,
                                                "model": judge.model, "heldout": judge.heldout}, tmp))
    return judge
