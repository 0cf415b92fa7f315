"""Atomic files: every file the project writes is either its old self or complete, never half written.

One mechanism, :func:`atomic_write`: write to a temporary file beside the target (same folder, so the rename
stays on one file system), then ``os.replace`` it into place; a temporary left by a killed process is
named ``.NAME.PID.tmp*`` and removed by :func:`remove_stale_temporaries`.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from facegen.core.errors import FacegenError


def atomic_write(path: Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path`` (ending in ``suffix``, for writers that pick
    the format from the extension), then move it onto ``path``. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries that :func:`atomic_write` calls in ``folder`` (recursively) left behind when
    their process was killed; returns what was removed."""
    removed = []
    for tmp in Path(folder).rglob(".*.tmp*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: object) -> Path:
    """JSON with two-space indent; Paths and other objects written as strings."""
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)

    return atomic_write(path, write)


def append_csv_row(path: Path, row: Sequence[object]) -> None:
    """Append one row to an existing CSV and flush it to disk (a crash loses at most that row)."""
    with Path(path).open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(row)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(path: Path, state: dict) -> Path:
    """``torch.save`` through :func:`atomic_write`: a kill never leaves half a checkpoint."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by :func:`save_checkpoint`, with a one-line error if it is missing or broken."""
    path = Path(path)
    if not path.exists():
        raise FacegenError(f"checkpoint {path} not found: train the run first (or pass the right --run)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise FacegenError(f"cannot read checkpoint {path} ({type(e).__name__}); re-train or restore it") from None
