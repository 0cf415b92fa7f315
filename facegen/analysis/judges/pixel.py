"""Small judges of images, trained by the project on a run's own faces: a smile regressor and a gender classifier.

Both are linear models (scikit-learn) on downsampled grey pixels, fitted on the faces and their mirror
images: fast (seconds, where a small CNN took minutes on two cores), deterministic, and blurred enough
that the judgement transfers from real photos to a VAE's smoother samples. Each is fitted on the run's
training faces, scored on its validation faces, and cached in ``RUN/evaluators/`` as what it is: arrays
(``NAME.npz``: the scaler's means and scales, the coefficients) and JSON (``NAME.json``: kind, intercept,
held-out scores), read without unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write, user_cache_dir, write_json
from facegen.data.faceset import FaceSet
from facegen.runs import MODEL_SUFFIX, outputs_folder

if TYPE_CHECKING:  # scikit-learn is imported where a judge is fitted, not with the module
    from sklearn.pipeline import Pipeline

FEATURE_SIZE = 24  # pixels per side the judges see
MIN_FACES = 8
MAX_GENDER_FACES = 10_000  # enough for a linear model, and it keeps fitting to seconds
SMILE, GENDER = "smile_regressor", "gender_classifier"
FORMAT_VERSION = 3  # 3: arrays + JSON (2 was a joblib pickle, no longer read)
KINDS = ("ridge", "logistic")


@dataclass
class PixelJudge:
    """A fitted linear judge (a :class:`facegen.analysis.judges.judge.Judge`) as plain arrays, plus what its
    held-out faces said about it: the linear score of features x is ((x - mean) / scale) @ coef + intercept, a
    smile degree ("ridge", scored clipped to [-1, 1]) or the log-odds of female ("logistic", scored as P(female))."""

    kind: str
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    heldout: dict

    @classmethod
    def from_pipeline(cls, kind: str, model: Pipeline, heldout: dict) -> PixelJudge:
        """The arrays of a fitted StandardScaler + linear model pipeline."""
        scaler, linear = model[0], model[-1]
        return cls(kind, scaler.mean_.astype(np.float64), scaler.scale_.astype(np.float64),
                   np.asarray(linear.coef_, dtype=np.float64).reshape(-1),
                   float(np.asarray(linear.intercept_).reshape(-1)[0]), heldout)

    def linear(self, x: np.ndarray) -> np.ndarray:
        """The linear score of features ``x`` (N, FEATURE_SIZE**2), as the fitted pipeline computes it."""
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    @property
    def what(self) -> str:
        return "the smile regressor (degree)" if self.kind == "ridge" else "the gender classifier (P(female))"

    @property
    def threshold(self) -> float:
        return 0.0 if self.kind == "ridge" else 0.5

    def score(self, images: torch.Tensor) -> np.ndarray:
        """The smile degree of each image clipped to [-1, 1] (ridge), or the probability of female (logistic)."""
        s = self.linear(features(images))
        return np.clip(s, -1, 1) if self.kind == "ridge" else np.exp(-np.logaddexp(0, -s))  # logistic, no overflow


def features(images: torch.Tensor) -> np.ndarray:
    """(N, FEATURE_SIZE**2) grey pixels of images (uint8, or float in [0, 1]), antialiased down to the judges' size."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    x = x.mean(1, keepdim=True)
    x = F.interpolate(x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.flatten(1).numpy().astype(np.float64)


def _mirrored(images: torch.Tensor, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of the images and of their mirror images (smile and gender do not change in a mirror)."""
    return features(torch.cat([images, images.flip(-1)])), np.concatenate([targets, targets])


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


def fit_smile_regressor(train: FaceSet, val: FaceSet) -> PixelJudge:
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
    judge = PixelJudge.from_pipeline("ridge", model, {"n_train": len(y), "n_heldout": len(yv)})
    if len(yv) >= 2:
        pred = judge.score(xv)
        judge.heldout.update(mae=float(np.abs(pred - yv).mean()), correlation=float(np.corrcoef(pred, yv)[0, 1]))
    return judge


def fit_gender_classifier(train: FaceSet, val: FaceSet) -> PixelJudge:
    """Logistic regression from pixels to the gender in the file names (0 male, 1 female)."""
    x, y = _gender_data(train)
    if not has_genders(train):
        raise FacegenError(f"the gender classifier needs at least {MIN_FACES // 2} training faces of each gender "
                           f"(found {int((y == 0).sum())} male, {int((y == 1).sum())} female)")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000)).fit(*_mirrored(x, y))
    if list(model[-1].classes_) != [0, 1]:
        raise FacegenError(f"the gender classifier saw classes {list(model[-1].classes_)}, not 0 (male) and 1")
    xv, yv = _gender_data(val)
    judge = PixelJudge.from_pipeline("logistic", model, {"n_train": len(y), "n_heldout": len(yv)})
    if len(yv):
        judge.heldout["accuracy"] = float(((judge.score(xv) > judge.threshold) == yv).mean())
    return judge


def _files(run: Path, name: str) -> tuple[Path, Path]:
    """A cached judge's arrays and its JSON."""
    return run / "evaluators" / f"{name}.npz", run / "evaluators" / f"{name}.json"


def _cached(run: Path, name: str) -> PixelJudge | None:
    """The judge cached in ``run``, or None when it is absent, outdated or unreadable (it is then fitted again);
    nothing in it is unpickled."""
    arrays, info = _files(run, name)
    n = FEATURE_SIZE ** 2
    try:
        meta = json.loads(info.read_text(encoding="utf-8"))
        with np.load(arrays, allow_pickle=False) as stored:
            mean, scale, coef = (np.asarray(stored[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        if (meta["version"] == FORMAT_VERSION and meta["feature_size"] == FEATURE_SIZE and meta["kind"] in KINDS
                and mean.shape == scale.shape == coef.shape == (n,) and isinstance(meta["heldout"], dict)):
            return PixelJudge(meta["kind"], mean, scale, coef, float(meta["intercept"]), meta["heldout"])
    except ValueError as e:
        if "allow_pickle" in str(e):  # object arrays: pickles, which are never loaded
            print(f"warning: {arrays} holds pickled objects, which are never loaded; fitting the judge again",
                  file=sys.stderr)
    except (OSError, KeyError, TypeError):
        pass
    return None


def _store(run: Path, name: str, judge: PixelJudge) -> None:
    """The arrays first, then the JSON that makes them count (a kill between the two leaves no judge)."""
    arrays, info = _files(run, name)
    atomic_write(arrays, lambda tmp: np.savez(tmp, mean=judge.mean, scale=judge.scale, coef=judge.coef),
                 suffix=".npz")
    write_json(info, {"version": FORMAT_VERSION, "feature_size": FEATURE_SIZE, "kind": judge.kind,
                      "intercept": judge.intercept, "heldout": judge.heldout})


def cache_home(train: FaceSet, val: FaceSet) -> Path:
    """The folder in the user's cache that stands in for a run's own (``load_or_fit(cache_home(...), ...)``) when a
    script reads a run and must not write into it; keyed on the faces' pixels, labels and genders."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION} features={FEATURE_SIZE}".encode())
    for faces in (train, val):
        for t in (faces.images, faces.cond, faces.meta.get("gender", torch.zeros(0))):
            digest.update(t.contiguous().numpy().tobytes())
    return user_cache_dir() / "judges" / digest.hexdigest()[:32]


def load_from(run: Path, name: str) -> PixelJudge:
    """The judge ``name`` another run cached (so two runs are scored by the same judges); ``run`` may be an exported
    model file, whose judges live in its outputs folder."""
    judge = _cached(outputs_folder(run) if Path(run).suffix == MODEL_SUFFIX else run, name)
    if judge is None:
        raise FacegenError(f"{run} has no cached {name.replace('_', ' ')}: run evaluate.py --run {run} first")
    return judge


def load_or_fit(run: Path, name: str, train: FaceSet, val: FaceSet) -> PixelJudge:
    """The run's cached judge ``name`` (SMILE or GENDER), fitted and cached on first use."""
    judge = _cached(run, name)
    if judge is None:
        judge = (fit_smile_regressor if name == SMILE else fit_gender_classifier)(train, val)
        _store(run, name, judge)
    return judge
