"""A model file's card: what an exported model needs beside it, so that its first use measures nothing.

``NAME.json`` beside ``NAME.safetensors`` (:func:`card_path`) holds

- ``provenance``: the command that trained it, the data, the date, the measured numbers;
- ``config``: the model's name, config, image size, channels and conditions, as the file's own metadata records
  them (:func:`read_card` refuses a card that does not match its file);
- ``template``: where the run's crops put a face (:func:`facegen.analysis.editing.photo.face_template`, measured on
  the run's training faces), so editing a photo needs neither the training data nor a measurement;
- ``principal``: the top PCA directions of the run's encoded training faces, for the sliders.

An expression editor's card (the shipped taught editor, ``weights/smile_mouths.json``) has neither of the last
two: it works in the mouth frame the landmarks give, and has no code to walk.

:data:`facegen.runs.DEFAULT_MODEL` is the shipped default model (``weights/``): every script that takes ``--run``
uses it when ``--run`` is omitted. It is made by ``sh scripts/train_default.sh``; a better editor replaces it by
being exported, with its card, to that path (or by pointing that one constant at its file).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facegen.analysis.directions.direction import Directions
from facegen.analysis.directions.principal import principal_directions
from facegen.analysis.editing.photo import Template, face_template
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.models.base import Model
from facegen.models.capabilities import Editor
from facegen.runs import Run

PRINCIPAL_K = 8  # principal directions kept on a card


@dataclass
class ModelCard:
    """A model file's card (see the module docstring)."""

    provenance: dict
    config: dict
    template: Template | None
    principal: Directions | None

    def to_dict(self) -> dict:
        p = self.principal
        return {"provenance": self.provenance, "config": self.config,
                "template": None if self.template is None else asdict(self.template),
                "principal": None if p is None else {
                    "method": p.method, "names": list(p.names), "vectors": p.vectors.tolist(),
                    "scales": p.scales.tolist(), "center": p.center.tolist(), "info": p.info}}

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        t, p = d["template"], d["principal"]
        template = principal = None
        if t is not None:
            eyes = t["eyes"]
            template = Template(tuple(t["box"]), None if eyes is None else (tuple(eyes[0]), tuple(eyes[1])),
                                t["n_faces"], t["n_eyes"])
        if p is not None:
            principal = Directions(p["method"], p["names"], np.asarray(p["vectors"]), np.asarray(p["scales"]),
                                   np.asarray(p["center"]), p.get("info", {}))
        return cls(d["provenance"], d["config"], template, principal)


def card_path(model_file: Path) -> Path:
    """``NAME.json`` beside ``NAME.safetensors``."""
    return Path(model_file).with_suffix(".json")


def model_config(run: Run) -> dict:
    """What a card records of the model, to be checked against the model file's metadata."""
    return {"model": run.model_name, "model_config": run.model_config, "size": run.size, "channels": run.channels,
            "cond_names": run.cond_names}


def read_card(run: Run) -> ModelCard | None:
    """The card of ``run``'s model file, or None for a run folder or a model file without one; a one-line error
    for a card that is unreadable or describes another model than its file."""
    if run.model_file is None or not card_path(run.model_file).is_file():
        return None
    path = card_path(run.model_file)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        card = ModelCard.from_dict(stored)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise FacegenError(f"{path} is not a readable model card ({type(e).__name__}): write it again "
                           f"(sh scripts/train_default.sh, or delete it to measure on first use)") from None
    if json.loads(json.dumps(card.config)) != json.loads(json.dumps(model_config(run))):
        raise FacegenError(f"{path} describes another model than {run.model_file}: export the two together "
                           f"(sh scripts/train_default.sh)")
    return card


def make_card(run: Run, model: Model, provenance: dict, k: int = PRINCIPAL_K) -> ModelCard:
    """The card of a run folder's model: its template and top-``k`` PCA directions measured on its training
    faces (the template cached in the run as usual); an expression editor's has neither."""
    if isinstance(model, Editor):
        return ModelCard(provenance, model_config(run), None, None)
    return ModelCard(provenance, model_config(run), face_template(run), principal_directions(run, model, "pca", k))


def write_card(model_file: Path, card: ModelCard) -> Path:
    return write_json(card_path(model_file), card.to_dict())


def photo_template(run: Run) -> Template:
    """Where ``run``'s crops put a face: from its model file's card, else measured once and cached in the run."""
    card = read_card(run)
    return card.template if card is not None and card.template is not None else face_template(run)


def principal(run: Run, model: Model, method: str, k: int, n_samples: int = 2000, seed: int = 0) -> Directions:
    """The top-``k`` principal directions of ``method``: the card's when it has them (pca, k at most its count),
    else measured (:func:`facegen.analysis.directions.principal.principal_directions`)."""
    card = read_card(run)
    if card is not None and card.principal is not None and method == card.principal.method \
            and k <= len(card.principal.names):
        p = card.principal
        return Directions(p.method, p.names[:k], p.vectors[:k], p.scales[:k], p.center, p.info)
    return principal_directions(run, model, method, k, n_samples, seed)
