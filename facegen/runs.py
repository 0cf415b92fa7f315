"""A trained run is a folder; :class:`Run` is that folder as an object.

``flags.json`` holds everything a later script needs: the model's name and config, the training config, the
data spec (so the very same faces and split can be rebuilt), what the data turned out to be, the command
line. ``checkpoints/last.pt`` holds the weights. So ``--run DIR`` is all a user types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, write_json
from facegen.core.lock import LOCK_NAME
from facegen.data.faceset import FaceSet
from facegen.data.spec import DataSpec
from facegen.models.base import Model
from facegen.models.registry import build_model, model_class

FLAGS = "flags.json"
LAST = "checkpoints/last.pt"
RECORD_KEYS = ("model", "model_config", "train_config", "data", "dataset")


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

    # ---- the folder ----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Run:
        """The run in ``path``, with a one-line error for a folder that is not a run."""
        path = Path(path)
        file = path / FLAGS
        if not file.exists():
            raise FacegenError(f"{file} not found: pass --run a folder made by a training script (ae.py, vae.py, "
                               f"cvae.py, ...)")
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise FacegenError(f"{file} is not valid JSON ({type(e).__name__}); re-train the run") from None
        if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
            raise FacegenError(f"{file} is not a run's flags.json (it lacks {', '.join(RECORD_KEYS)}): pass the "
                               f"folder a training script wrote")
        return cls(path=path, model_name=record["model"], model_config=record["model_config"],
                   train_config=record["train_config"], data=DataSpec.from_dict(record["data"]),
                   dataset=record["dataset"], args=record.get("args", {}), command=record.get("command", ""),
                   world_size=record.get("world_size", 1))

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

    def require(self, capability: str, what: str) -> None:
        self.model_class.require(capability, what)

    def load_model(self, device: torch.device | str = "cpu", checkpoint: Path | None = None) -> Model:
        """The trained model in eval mode on ``device``."""
        path = checkpoint or self.path / LAST
        ckpt = load_checkpoint(path)
        model = build_model(self.model_name, self.model_config)
        try:
            model.load_state_dict(ckpt["model"])
        except (RuntimeError, KeyError) as e:
            first = str(e).strip().splitlines()[-1].strip()
            raise FacegenError(f"checkpoint {path} does not match the model in {self.path / FLAGS} ({first}); "
                               f"re-train the run") from None
        return model.to(device).eval()

    def track(self, name: str) -> torch.Tensor:
        """A per-epoch vector the model reported during training (epochs, ...), e.g. ``latent_var``."""
        tracks = load_checkpoint(self.path / LAST).get("tracks", {})
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
