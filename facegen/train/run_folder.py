"""The run folder a training writes: checked before anything is loaded, held by one process from start to end,
and an old run replaced only once the new one has its first checkpoint.

- :func:`check_out` refuses, in one line and touching nothing, an ``--out`` the training could not use: a file,
  a read-only place, a folder another process is writing, a run without ``--resume`` or ``--overwrite``,
  someone's files that are not a run, nothing to resume.
- :class:`RunFolder` takes the folder's :class:`~facegen.core.lock.RunLock` for the whole training and looks
  again under the lock. A new run in a missing or empty folder is written in place. A run to replace (with
  ``--overwrite``), or the leftovers of one that never reached a checkpoint, stay as they are while the new run
  is built in a hidden sibling ``.NAME.staging-PID`` (locked too); :meth:`RunFolder.commit`, called after the
  first checkpoint, swaps the two folders by two renames and deletes the old one. A run that fails or is
  interrupted before that leaves the old folder byte for byte as it was, and its staging folder is removed.
- Temporaries of killed writers (``.NAME.PID.tmp*``) and staging folders of killed trainings are removed.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from facegen.core.errors import FacegenError
from facegen.core.files import check_writable_folder, remove_stale_temporaries
from facegen.core.lock import LOCK_NAME, RunLock, check_unlocked
from facegen.runs import prepare_run_dir, run_state


def check_out(out: Path, *, resume: bool, overwrite: bool) -> None:
    """The cheap checks of ``--out``, before the data is loaded (:class:`RunFolder` repeats them under the lock)."""
    check_writable_folder(out, "--out")
    if Path(out).is_dir():
        check_unlocked(out)
    _check_state(Path(out), resume=resume, overwrite=overwrite)


def _check_state(out: Path, *, resume: bool, overwrite: bool) -> str:
    state = run_state(out)
    if resume:
        prepare_run_dir(out, resume=True)
    elif state == "run" and not overwrite:
        raise FacegenError(f"{out} already holds a run; pass --resume to continue it, --overwrite to replace it, "
                           f"or --out NEW_DIR")
    elif state == "other":
        example = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)[0]
        raise FacegenError(f"--out {out} holds files that are not a run (e.g. {example}), which --overwrite does not "
                           f"delete: give a new or empty folder")
    return state


def _sibling(out: Path, kind: str, pid: int | str) -> Path:
    return out.parent / f".{out.name}.{kind}-{pid}"


class RunFolder:
    """``with RunFolder(out, resume=..., overwrite=...) as folder:`` train into ``folder.path`` and call
    ``folder.commit()`` after each checkpoint (only the first does anything); ``out`` stays locked throughout."""

    def __init__(self, out: Path, *, resume: bool, overwrite: bool):
        self.out = Path(out)
        self.resume, self.overwrite = resume, overwrite
        self.path = self.out
        self._stack = ExitStack()
        self._staging_lock: RunLock | None = None

    @property
    def staged(self) -> bool:
        """Whether the run is still being built beside ``out`` (the old contents of ``out`` untouched)."""
        return self._staging_lock is not None

    def __enter__(self) -> RunFolder:
        try:
            self._stack.enter_context(RunLock(self.out))
            state = _check_state(self.out, resume=self.resume, overwrite=self.overwrite)
            self._remove_stale_siblings()
            if self.resume:
                remove_stale_temporaries(self.out)
            elif state in ("missing", "empty"):
                prepare_run_dir(self.out)
            else:  # a run to replace, or the leftovers of one that never wrote a checkpoint
                self.path = _sibling(self.out, "staging", os.getpid())
                shutil.rmtree(self.path, ignore_errors=True)
                self._staging_lock = RunLock(self.path)
                self._staging_lock.__enter__()
                prepare_run_dir(self.path)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _remove_stale_siblings(self) -> None:
        """Staging and retired folders of ``out`` left by trainings that were killed (their lock is stale)."""
        for kind in ("staging", "old"):
            for folder in self.out.parent.glob(f".{self.out.name}.{kind}-*"):
                try:
                    check_unlocked(folder)
                except FacegenError:
                    continue  # a live process's
                shutil.rmtree(folder, ignore_errors=True)

    def commit(self) -> Path:
        """Put the staged run in place of ``out`` (the first time; later calls do nothing); returns ``out``."""
        if self._staging_lock is None:
            return self.out
        old = _sibling(self.out, "old", os.getpid())
        os.rename(self.out, old)  # out's lock, ours, moves along: the old run stays locked until deleted
        try:
            os.rename(self.path, self.out)
        except OSError as e:
            raise FacegenError(f"{self.out} was taken by another process while this run replaced it ({e.strerror}): "
                               f"the new run is in {self.path}, the old one in {old}") from None
        self._staging_lock.folder = self.out  # the staging lock is now out's
        self._staging_lock.path = self.out / self._staging_lock.path.name
        self._stack.pop_all()  # out's old lock went with the old folder, deleted next; never release it by path
        shutil.rmtree(old, ignore_errors=True)
        self._stack.push(self._staging_lock)  # released when the training ends
        self._staging_lock = None
        self.path = self.out
        return self.out

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._staging_lock is not None:  # never committed: drop the new run, the old folder is untouched
            staging, self._staging_lock = self._staging_lock, None
            staging.__exit__(None, None, None)
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = self.out
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                self._stack.close()  # the trainer's line points at --resume on the staging folder, now gone
                raise KeyboardInterrupt(f"interrupted before the new run's first checkpoint: nothing of it was kept, "
                                        f"and {self.out} still holds the run it was to replace, untouched") from None
        self._stack.close()

