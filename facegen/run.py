"""A run folder: flags.json, checkpoints, figures; and loading a trained model back from it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.models import FaceModel, ModelConfig, build_model

FLAGS = "flags.json"
LAST = "checkpoints/last.pt"


def prepare_run_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Create ``out`` for a new run, or check it for a resumed one; never clobber by accident."""
    if resume:
        if not (out / LAST).exists():
            raise FacegenError(f"nothing to resume: {out / LAST} does not exist; drop --resume to start a new run")
        return
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FacegenError(f"{out} already holds a run; pass --resume to continue it, --overwrite to "
                               f"replace it, or --out NEW_DIR")
        shutil.rmtree(out)
    for sub in ("checkpoints", "iterations", "plots"):
        (out / sub).mkdir(parents=True, exist_ok=True)


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def read_flags(run: Path) -> dict:
    """The flags.json of a run folder."""
    path = run / FLAGS
    if not path.exists():
        raise FacegenError(f"{path} not found: pass --run a folder made by ae.py, vae.py or cvae.py")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise FacegenError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); re-train the run") from None


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by :func:`save_checkpoint`, with a one-line error if it is missing or broken."""
    if not path.exists():
        raise FacegenError(f"checkpoint {path} not found: train the run first (or pass the right --run)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise FacegenError(f"cannot read checkpoint {path} ({type(e).__name__}); re-train or restore it") from None


def load_model_state(model: FaceModel, state: dict, path: Path) -> None:
    """Load weights, turning a shape mismatch into one line that names the file."""
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise FacegenError(f"checkpoint {path} does not match the model built from the flags ({first}); "
                           f"use the flags it was trained with, or a new --out") from None


def load_trained(run: Path, device: torch.device | str = "cpu",
                 checkpoint: Path | None = None) -> tuple[FaceModel, dict]:
    """The trained model of a run folder (in eval mode on ``device``) and its flags."""
    flags = read_flags(run)
    path = checkpoint or run / LAST
    ckpt = load_checkpoint(path)
    model = build_model(flags["model"], ModelConfig(**flags["model_config"]))
    load_model_state(model, ckpt["model"], path)
    return model.to(device).eval(), flags
