"""A trained run is a folder; :class:`Run` is that folder as an object.

``flags.json`` holds everything a later script needs: the model's name and config, the training config, the
data spec (so the very same faces and split can be rebuilt), what the data turned out to be, the command
line. ``checkpoints/last.pt`` holds the weights. So ``--run DIR`` is all a user types.

A model meant for sharing is one safetensors file (:func:`export_model`): the weights and the per-epoch tracks
as raw tensors, flags.json and the condition names in the header's metadata; no optimizer state, nothing that
is unpickled. ``--run FILE.safetensors`` works wherever ``--run DIR`` does (:func:`load_trained`); what a script
writes for such a file goes into the folder beside it named by :func:`outputs_folder`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write, load_checkpoint, write_json
from facegen.core.lock import LOCK_NAME
from facegen.core.typecheck import check_fields, fits, type_name
from facegen.data.faceset import FaceSet
from facegen.data.spec import DataSpec
from facegen.models.base import Model
from facegen.models.registry import build_model, model_class

FLAGS = "flags.json"
LAST = "checkpoints/last.pt"
RECORD_KEYS = ("model", "model_config", "train_config", "data", "dataset")
MODEL_FORMAT = "facegen-model/1"  # the "format" entry of an exported model's metadata
MODEL_SUFFIX = ".safetensors"
DATASET_FIELDS = {"size": int, "channels": int, "cond_names": list[str]}  # what scripts read of "dataset"
WEIGHT, TRACK = "model/", "track/"  # prefixes of the weights' and the tracks' tensor names in an exported model
# the shipped default model (scripts/train_default.sh; its card beside it, facegen/analysis/editing/model_card.py): what
# --run means when omitted; a better editor is swapped in by exporting it to this path
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "weights" / "smile_cvae.safetensors"


@dataclass
class Run:
    """A run folder: where it is, what was trained on what, and how to get the trained model back."""

    path: Path
    model_name: str
    model_config: dict
    train_config: dict
    data: DataSpec
    dataset: dict  # what the data turned out to be: source, n_faces, n_train, n_val, size, channels, cond_names
    args: dict = field(default_factory=dict)
    command: str = ""
    world_size: int = 1
    model_file: Path | None = None  # an exported model (.safetensors) the run was read from; None: a run folder

    # ---- the folder ----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Run:
        """The run in ``path`` (a run folder or an exported ``.safetensors`` model), with a one-line error for
        anything else."""
        path = Path(path)
        if path.suffix == MODEL_SUFFIX:
            return cls._from_model_file(path)
        file = path / FLAGS
        if not file.exists():
            raise FacegenError(f"{file} not found: pass --run a folder made by a training script (ae.py, vae.py, "
                               f"cvae.py, ...) or a model file made by export_model.py")
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise FacegenError(f"{file} is not valid JSON ({type(e).__name__}); re-train the run") from None
        return cls._from_record(record, path, file)

    @classmethod
    def _from_record(cls, record: object, path: Path, source: Path, model_file: Path | None = None) -> Run:
        """The run a flags.json record describes (``source`` names where it came from in errors)."""
        if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
            raise FacegenError(f"{source} is not a run's flags.json (it lacks {', '.join(RECORD_KEYS)}): pass the "
                               f"folder a training script wrote")
        _check_record(record, source)
        data = DataSpec.from_dict(record["data"], model_class(record["model"]).data_needs)
        return cls(path=path, model_name=record["model"], model_config=record["model_config"],
                   train_config=record["train_config"], data=data,
                   dataset=record["dataset"], args=record.get("args", {}), command=record.get("command", ""),
                   world_size=record.get("world_size", 1), model_file=model_file)

    @classmethod
    def _from_model_file(cls, file: Path) -> Run:
        """The run recorded in an exported model's metadata; its outputs go to :func:`outputs_folder`."""
        meta = _model_metadata(file)
        try:
            record = json.loads(meta["flags"])
        except (KeyError, json.JSONDecodeError) as e:
            raise FacegenError(f"{file} has no readable flags in its metadata ({type(e).__name__}): export the run "
                               f"again with export_model.py") from None
        return cls._from_record(record, outputs_folder(file), file, model_file=file)

    def record(self) -> dict:
        """What flags.json holds."""
        return {"model": self.model_name, "model_config": self.model_config, "train_config": self.train_config,
                "data": self.data.to_dict(), "dataset": self.dataset, "args": self.args, "command": self.command,
                "world_size": self.world_size}

    def save(self) -> None:
        write_json(self.path / FLAGS, self.record())

    # ---- what the model is and can do ----------------------------------------------------------------------
    @property
    def model_class(self) -> type[Model]:
        return model_class(self.model_name)

    @property
    def size(self) -> int:
        return self.dataset["size"]

    @property
    def channels(self) -> int:
        return self.dataset["channels"]

    @property
    def cond_names(self) -> list[str]:
        """The condition columns the run's model sees (none for unconditional models)."""
        return list(self.dataset["cond_names"]) if self.model_class.conditional else []

    @property
    def source(self) -> Path:
        """What the user passed as --run: the run folder, or the exported model file."""
        return self.model_file or self.path

    def weights(self) -> dict[str, torch.Tensor]:
        """The model's state dict: from ``checkpoints/last.pt``, or from the exported model file (which has no
        ``_extra_state`` entries: training-only state such as a replay buffer is not exported)."""
        if self.model_file is None:
            return load_checkpoint(self.path / LAST)["model"]
        return {k[len(WEIGHT):]: v for k, v in _model_tensors(self.model_file).items() if k.startswith(WEIGHT)}

    def load_model(self, device: torch.device | str = "cpu") -> Model:
        """The trained model in eval mode on ``device``."""
        where = self.model_file or self.path / LAST
        model = build_model(self.model_name, self.model_config)
        try:
            state = self.weights()
            if self.model_file is None:
                model.load_state_dict(state)
            else:
                missing, unexpected = model.load_state_dict(state, strict=False)
                if unexpected or any(not k.endswith("_extra_state") for k in missing):
                    raise KeyError(f"missing {missing[:3]}, unexpected {unexpected[:3]}")
        except (RuntimeError, KeyError) as e:
            first = str(e).strip().splitlines()[-1].strip()
            raise FacegenError(f"{where} does not match the {self.model_name} model its flags describe ({first}); "
                               f"re-train the run (or export it again)") from None
        return model.to(device).eval()

    def tracks(self) -> dict[str, torch.Tensor]:
        """The per-epoch vectors the model reported during training, by name."""
        if self.model_file is None:
            return load_checkpoint(self.path / LAST).get("tracks", {})
        return {k[len(TRACK):]: v for k, v in _model_tensors(self.model_file).items() if k.startswith(TRACK)}

    def track(self, name: str) -> torch.Tensor:
        """A per-epoch vector the model reported during training (epochs, ...), e.g. ``latent_var``."""
        tracks = self.tracks()
        if name not in tracks:
            raise FacegenError(f"this {self.model_name} run recorded no {name} during training")
        return tracks[name]

    # ---- its faces -----------------------------------------------------------------------------------------
    def all_faces(self) -> FaceSet:
        """Every face of the run's dataset (training and validation), rebuilt from flags.json (cached, fast)."""
        return self.data.load()

    def faces(self) -> tuple[FaceSet, FaceSet]:
        """The run's (train, validation) faces."""
        return self.data.split(self.all_faces())


def _check_record(record: dict, source: Path) -> None:
    """One line for a flags.json record whose values do not have their types (edited by hand or damaged), before
    they reach the networks or the data code."""
    damaged = "the file was edited or damaged; restore it or train the run again"
    if not isinstance(record["model"], str) or not all(isinstance(record[k], dict) for k in RECORD_KEYS[1:]):
        raise FacegenError(f"{source}: model is not a name, or {', '.join(RECORD_KEYS[1:])} are not objects: {damaged}")
    check_fields(model_class(record["model"]).Config, record["model_config"], f"{source} model_config")
    check_fields(DataSpec, record["data"], f"{source} data")
    for key, hint in DATASET_FIELDS.items():
        if not fits(record["dataset"].get(key), hint):
            raise FacegenError(f"{source} dataset: {key} is {record['dataset'].get(key)!r:.30}, not "
                               f"{type_name(hint)}: {damaged}")
    if not isinstance(record.get("args", {}), dict) or not fits(record.get("world_size", 1), int):
        raise FacegenError(f"{source}: args is not an object or world_size not a whole number: {damaged}")


def load_trained(path: Path, device: torch.device | str = "cpu") -> tuple[Run, Model]:
    """The run in ``path`` (a run folder or an exported ``.safetensors`` model) and its trained model in eval mode
    on ``device``: ``run.cond_names``, ``run.size``, ``run.channels``, ``run.model_config`` say what it takes."""
    run = Run.load(path)
    return run, run.load_model(device)


def outputs_folder(model_file: Path) -> Path:
    """Where scripts write what they make for an exported model: ``NAME_outputs/`` beside ``NAME.safetensors``."""
    model_file = Path(model_file)
    return model_file.with_name(f"{model_file.stem}_outputs")


def export_model(run: Run, out: Path) -> Path:
    """Write ``run``'s trained model as one safetensors file: its weights (bit for bit) and tracks as tensors, its
    flags.json record and condition names as metadata. Training-only state (optimizers, a replay buffer's
    ``_extra_state``) is left out."""
    out = Path(out)
    if out.suffix != MODEL_SUFFIX:
        raise FacegenError(f"--out {out}: an exported model's name ends in {MODEL_SUFFIX} (e.g. model.safetensors)")
    tensors = {WEIGHT + k: v.detach().cpu().contiguous().clone() for k, v in run.weights().items()
               if isinstance(v, torch.Tensor)}
    tensors.update({TRACK + k: v.detach().cpu().contiguous().clone() for k, v in run.tracks().items()})
    metadata = {"format": MODEL_FORMAT, "model": run.model_name, "flags": json.dumps(run.record(), default=str),
                "cond_names": json.dumps(run.cond_names)}
    return atomic_write(out, lambda tmp: save_file(tensors, tmp, metadata=metadata), suffix=MODEL_SUFFIX)


def _model_metadata(file: Path) -> dict[str, str]:
    """An exported model's header metadata (read without loading the tensors)."""
    if not file.is_file():
        raise FacegenError(f"{file} not found: pass --run a run folder or a model file made by export_model.py")
    try:
        with safe_open(file, framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise FacegenError(f"{file} is not a readable safetensors file ({type(e).__name__}): export the run "
                           f"again with export_model.py") from None
    if meta.get("format") != MODEL_FORMAT:
        raise FacegenError(f"{file} is a safetensors file but not a facegen model (its metadata has no format "
                           f"{MODEL_FORMAT}): export a run with export_model.py")
    return meta


def _model_tensors(file: Path) -> dict[str, torch.Tensor]:
    """Every tensor of an exported model (safetensors: raw data, nothing executed)."""
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as e:
        raise FacegenError(f"{file} is not a readable safetensors file ({type(e).__name__}): export the run "
                           f"again with export_model.py") from None


RUN_ENTRIES = {FLAGS, "checkpoints", "iterations", "plots", "training.csv", "training.gif", LOCK_NAME}


def run_state(out: Path) -> str:
    """What ``out`` holds: "missing", "file", "empty", "run" (a checkpoint: worth keeping), "unfinished" (only what
    a training writes before its first checkpoint) or "other" (someone's files, not a run)."""
    out = Path(out)
    if not out.exists():
        return "missing"
    if not out.is_dir():
        return "file"
    entries = {p.name for p in out.iterdir()} - {LOCK_NAME}
    if not entries:
        return "empty"
    if (out / "checkpoints").is_dir() and any((out / "checkpoints").glob("*.pt")):
        return "run"
    return "unfinished" if entries <= RUN_ENTRIES else "other"


def prepare_run_dir(out: Path, *, resume: bool = False) -> None:
    """Check ``out`` for a resumed run, or make the subfolders of a new run in an empty or missing ``out``
    (replacing a run is :class:`facegen.train.run_folder.RunFolder`'s job)."""
    if resume:
        if not (out / LAST).exists():
            raise FacegenError(f"nothing to resume: {out / LAST} does not exist; drop --resume to start a new run")
        return
    state = run_state(out)
    if state == "file":
        raise FacegenError(f"--out {out} is a file: give a folder for the run")
    if state not in ("missing", "empty"):
        raise FacegenError(f"{out} already holds files; give an empty or new --out")
    for sub in ("checkpoints", "iterations", "plots"):
        (out / sub).mkdir(parents=True, exist_ok=True)
