"""The project's own judges of images, by attribute name: they label prior samples for InterFaceGAN and measure
what an edit did. Each is a :class:`facegen.analysis.judges.judge.Judge`: a score per image and a threshold
above which the face has the attribute.

| name        | judge                                                               | score             | threshold |
|-------------|---------------------------------------------------------------------|-------------------|-----------|
| ``smile``   | the smile regressor (pixel.py), fitted on the run's labelled faces  | degree in [-1, 1] | 0         |
| ``gender``  | the gender classifier (pixel.py)                                    | P(female)         | 0.5       |
| ``smile_q`` | the run's own inference head q(y|x) (semi-supervised CVAE)          | mean degree       | 0         |
| CelebA name | the attribute net (train_feature_net.py), e.g. ``Eyeglasses``       | P(attribute)      | 0.5       |

The smile regressor and gender classifier are those cached in ``RUN/evaluators/`` (fitted on first use), or
those of another run (``judges_run``), so a model trained without smile labels can be judged by a run that had
them. Faces are compared in a feature space too: the attribute net's last pooled features when there is one,
else the regressor's 24-px grey pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facegen.analysis.judges import pixel
from facegen.analysis.judges.judge import FunctionJudge, Judge
from facegen.analysis.judges.pixel import PixelJudge
from facegen.analysis.latent import smile_head
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.data.celeba import normalize_attr_name
from facegen.models.base import Model
from facegen.models.capabilities import SmilePredictor
from facegen.nn.attrnet import LAYERS, POOLED, AttributeNet, load_attribute_net, predict_probs
from facegen.nn.features import DEFAULT_FEATURE_NET
from facegen.runs import Run

SMILE, GENDER, SMILE_Q = "smile", "gender", "smile_q"


class Judges:
    """Every judge available for a run, built on first use. ``classifier``: an attribute net file (default:
    results/feature_net/attribute_net.pt when it exists); ``judges_run``: a run whose cached smile regressor
    and gender classifier to use instead of this run's."""

    def __init__(self, run: Run, model: Model, classifier: Path | None = None, judges_run: Path | None = None):
        self.run, self.model, self.judges_run = run, model, judges_run
        if classifier is not None and not Path(classifier).is_file():
            raise FacegenError(f"attribute net {classifier} not found: train it with train_feature_net.py or leave "
                               f"--classifier out")
        self.classifier = classifier if classifier is not None else (
            DEFAULT_FEATURE_NET if DEFAULT_FEATURE_NET.is_file() else None)
        self._judges: dict[str, Judge] | None = None
        self._net: tuple[AttributeNet, list[str]] | None = None

    # ---- which judges there are -----------------------------------------------------------------------------
    @property
    def judges(self) -> dict[str, Judge]:
        if self._judges is None:
            self._judges = self._build()
        return self._judges

    @property
    def names(self) -> list[str]:
        return list(self.judges)

    def _pixel_judge(self, name: str) -> PixelJudge | None:
        key = pixel.SMILE if name == SMILE else pixel.GENDER
        if self.judges_run is not None:
            try:
                return pixel.load_from(Path(self.judges_run), key)
            except FacegenError:
                return None
        train, val = self.run.faces()
        usable = pixel.has_smiles(train) if name == SMILE else pixel.has_genders(train)
        return pixel.load_or_fit(self.run.path, key, train, val) if usable else None

    def _build(self) -> dict[str, Judge]:
        judges = {}
        if (smile := self._pixel_judge(SMILE)) is not None:
            judges[SMILE] = smile
        if (gender := self._pixel_judge(GENDER)) is not None:
            judges[GENDER] = gender
        if isinstance(self.model, SmilePredictor):
            judges[SMILE_Q] = FunctionJudge("the run's q(y|x) (degree)", 0.0,
                                            lambda x: smile_head.predict(self.model, x).double().numpy())
        if self.classifier is not None:
            net, names = self.attribute_net
            for i, name in enumerate(names):
                judges[name] = FunctionJudge(f"the attribute net (P({name}))", 0.5,
                                             lambda x, i=i: self.attribute_probs(x)[:, i])
        return judges

    @property
    def attribute_net(self) -> tuple[AttributeNet, list[str]]:
        if self._net is None:
            net, names = load_attribute_net(self.classifier)
            self._net = (net.to(_device(self.model)), names)
        return self._net

    def attribute_probs(self, images: torch.Tensor) -> np.ndarray:
        return predict_probs(self.attribute_net[0], images).double().numpy()

    def resolve(self, name: str) -> str:
        """The judge ``name`` means (CelebA names in any case; ``smile`` is the regressor, else Smiling), or a
        one-line error listing the judges this run has."""
        judges = self.judges
        if name in judges:
            return name
        if name.lower() in (SMILE, GENDER, SMILE_Q) and name.lower() in judges:
            return name.lower()
        celeba = [n for n in judges if n not in (SMILE, GENDER, SMILE_Q)]
        if celeba:
            try:
                return normalize_attr_name(name, celeba)
            except FacegenError:
                pass
        have = ", ".join(judges) or "none"
        hint = "" if celeba else " (CelebA attributes need an attribute net: --classifier FILE)"
        if self.judges_run is not None and SMILE not in judges:
            hint += f"; {self.judges_run} has no cached smile regressor: run evaluate.py --run {self.judges_run}"
        raise FacegenError(f"no judge for the attribute {name!r} on this {self.run.model_name} run: judged "
                           f"attributes are {have}{hint}")

    def get(self, name: str) -> Judge:
        return self.judges[self.resolve(name)]

    # ---- using them ---------------------------------------------------------------------------------------
    def scores(self, images: torch.Tensor, names: list[str] | None = None) -> dict[str, np.ndarray]:
        """Every named judge's scores (N,) for images in [0, 1] (the attribute net runs once for all its names)."""
        names = self.names if names is None else [self.resolve(n) for n in names]
        out, probs = {}, None
        net_names = self.attribute_net[1] if self.classifier is not None else []
        for name in names:
            if name in net_names:
                probs = self.attribute_probs(images) if probs is None else probs
                out[name] = probs[:, net_names.index(name)]
            else:
                out[name] = np.asarray(self.judges[name].score(images), dtype=np.float64)
        return out

    @property
    def feature_space(self) -> str:
        return "the attribute net's pooled features" if self.classifier is not None else "24-px grey pixels"

    def embed(self, images: torch.Tensor) -> np.ndarray:
        """Images in the feature space faces are compared in (N, D)."""
        if self.classifier is None:
            return pixel.features(images)
        net = self.attribute_net[0]

        def pooled(x: torch.Tensor) -> torch.Tensor:
            return F.adaptive_avg_pool2d(net.features(x, [LAYERS[-1]])[0], POOLED).flatten(1)

        return batched(pooled, images, device=next(net.parameters()).device).double().numpy()


def _device(model: Model) -> torch.device:
    return next(model.parameters()).device
