"""Atomic files: every file the project writes is either its old self or complete, never half written.

One mechanism, :func:`atomic_write`: write to a temporary file beside the target (same folder, so the rename
stays on one file system), then ``os.replace`` it into place; a temporary left by a killed process is
named ``.NAME.PID.tmp*`` and removed by :func:`remove_stale_temporaries` once PID is no longer running.
A file that cannot be written (a read-only folder, a path through a file, a full disk) is one line naming it.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import pickle
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from facegen.core.errors import FacegenError


def atomic_write(path: Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path`` (ending in ``suffix``, for writers that pick
    the format from the extension), then move it onto ``path``. Returns ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise FacegenError(f"cannot write {path} ({_reason(e)}): {_remedy(e)}") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is unusable: the error above says so
    return path


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _remedy(e: OSError) -> str:
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only; make it writable or write elsewhere (e.g. another --out)"
    if e.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return "a file stands where a folder is needed, or a folder where a file is; pick another path"
    if e.errno == errno.ENOSPC:
        return "the disk is full; free some space"
    return "check that the folder exists and is writable"


def check_writable_folder(folder: Path, flag: str) -> None:
    """Refuse in one line a folder this process could not create or write into (``flag`` names it for the user,
    e.g. "--out"). Nothing is created."""
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise FacegenError(f"{flag} {folder} is a file: give a folder")
    _check_can_create(folder, folder, flag)


def check_writable_file(path: Path, flag: str) -> None:
    """Refuse in one line a file path this process could not write (a folder, or under a file or a read-only
    folder). Nothing is created."""
    path = Path(path).absolute()
    if path.is_dir():
        raise FacegenError(f"{flag} {path} is a folder: give a file name")
    _check_can_create(path.parent, path, flag)


def _check_can_create(folder: Path, shown: Path, flag: str) -> None:
    """``folder`` exists and is writable, or its nearest existing ancestor is a writable folder."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise FacegenError(f"{flag} {shown}: {existing} is a file, so nothing can be made inside it; give another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FacegenError(f"{flag} {shown}: {existing} is read-only; make it writable or give another path")


STALE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp")


def _running(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (this process's own pid counts as not: a
    temporary named by it was left by an earlier process that had the same pid)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries that :func:`atomic_write` calls in ``folder`` (recursively) left behind when
    their process was killed (those of running processes are kept); returns what was removed."""
    removed = []
    for tmp in Path(folder).rglob(".*.tmp*"):
        match = STALE.match(tmp.name)
        if match and tmp.is_file() and not _running(int(match["pid"])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def user_cache_dir() -> Path:
    """The per-user folder for what scripts derive from a run and keep (a run folder they read is never written):
    ``$FACEGEN_CACHE``, else ``$XDG_CACHE_HOME/facegen``, else ``~/.cache/facegen``."""
    if os.environ.get("FACEGEN_CACHE"):
        return Path(os.environ["FACEGEN_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facegen"


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
    """``torch.save`` through :func:`atomic_write`: a kill never leaves half a checkpoint. ``state`` holds tensors
    and plain values only (dicts, lists, tuples, str, numbers, None), so :func:`load_checkpoint` reads it without
    unpickling objects."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by :func:`save_checkpoint`, read with ``torch.load(weights_only=True)``: tensors and
    plain values only, so a planted object's code never runs. A file that needs more (a pickled object: a run
    written before checkpoints held plain values only, or a file made to run code) is refused in one line saying
    how to convert a run one trusts; a missing or damaged file is one line too."""
    path = Path(path)
    if not path.exists():
        raise FacegenError(f"checkpoint {path} not found: train the run first (or pass the right --run)")
    try:
        with warnings.catch_warnings():  # torch warns about a pickle protocol it then refuses anyway
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise FacegenError(f"checkpoint {path} holds pickled Python objects, not only tensors (a run from before "
                           f"facegen stopped using pickle, or a file made to run code): it is not loaded. Convert "
                           f"a run you trust once with: python upgrade_run.py --run RUN --trust") from None
    except Exception as e:  # noqa: BLE001 - any other failure means the file is unusable
        raise FacegenError(f"cannot read checkpoint {path} ({type(e).__name__}); re-train or restore it") from None
