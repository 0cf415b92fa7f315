"""One writer per run folder: ``RUN/.lock`` names the process that writes the run.

The lock file is created with O_CREAT | O_EXCL, so of several processes starting at once exactly one creates it;
it holds one JSON line: pid, host, start time and (on Linux) the boot id and the process's start tick, so that a
pid reused after the writer died, or after a reboot, is not mistaken for the writer. A lock whose process is no
longer running on this host is stale and is taken over (a one-line note on stderr). A lock from another host
cannot be checked and is respected. Taking over is serialised by a second file, ``RUN/.lock.takeover``, so two
processes finding the same stale lock cannot both remove it after one of them has re-locked the run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from facegen.core.errors import FacegenError

LOCK_NAME = ".lock"
STARTING_GRACE_S = 10.0  # an unreadable lock this young is a process still writing it; older, a crashed one
TAKEOVER_WAIT_S = 0.02
MAX_TRIES = 1000  # of creating the lock while another process takes over a stale one (about 20 s)


@dataclass(frozen=True)
class Holder:
    """What a lock file says about the process that holds it (``raw`` is the file's exact bytes)."""

    pid: int
    host: str
    started: str
    boot_id: str | None
    proc_start: str | None
    raw: bytes


def lock_path(folder: Path) -> Path:
    return Path(folder) / LOCK_NAME


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), where there is /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": comm may hold spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def _content() -> bytes:
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
          "boot_id": _boot_id(), "proc_start": _proc_start(os.getpid())}
    return (json.dumps(me) + "\n").encode()


def read_holder(folder: Path) -> Holder | None:
    """The lock's holder; None when there is no lock. An unreadable lock gives pid -1."""
    path = lock_path(folder)
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no lock, or no folder at all
        return None
    try:
        d = json.loads(raw)
        pid = int(d["pid"])
        if pid > 0:  # 0 and negative numbers would address process groups
            return Holder(pid, str(d["host"]), str(d["started"]), d.get("boot_id"), d.get("proc_start"), raw)
    except (ValueError, KeyError, TypeError):
        pass
    return Holder(-1, "", "", None, None, raw)


def _is_live(holder: Holder, folder: Path) -> bool:
    """Whether the holder may still be running: False only when it surely is not."""
    if holder.pid < 0:  # not (yet) readable: a process between creating and writing the file, or a crashed one
        try:
            age = time.time() - lock_path(folder).stat().st_mtime
        except FileNotFoundError:
            return False
        return age < STARTING_GRACE_S
    if holder.host != socket.gethostname() or os.name == "nt":
        return True  # another machine's process (or no signal 0 to probe with): cannot tell, so respect it
    if holder.boot_id and holder.boot_id != _boot_id():
        return False  # written before a reboot
    try:
        os.kill(holder.pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a pid beyond the system's range
        return False
    except PermissionError:
        pass  # alive, owned by another user
    now_start = _proc_start(holder.pid)
    return not (holder.proc_start and now_start and now_start != holder.proc_start)  # else: a reused pid


def _describe(holder: Holder) -> str:
    if holder.pid < 0:
        return "a process that is starting up"
    where = "" if holder.host == socket.gethostname() else f" on {holder.host}"
    return f"process {holder.pid}{where} (started {holder.started})"


def _held_error(folder: Path, holder: Holder) -> FacegenError:
    if holder.pid >= 0 and holder.host != socket.gethostname():
        return FacegenError(f"{folder} is being written by {_describe(holder)}: wait for it to finish, or delete "
                            f"{lock_path(folder)} if that process is no longer running")
    return FacegenError(f"{folder} is being written by {_describe(holder)}: wait for it to finish")


def check_unlocked(folder: Path) -> None:
    """For scripts that read a run: refuse while another live process writes it (this process's own lock and a
    stale lock are fine)."""
    holder = read_holder(folder)
    if holder is None or (holder.pid == os.getpid() and holder.host == socket.gethostname()):
        return
    if _is_live(holder, folder):
        raise _held_error(Path(folder), holder)


class RunLock:
    """``with RunLock(folder):`` this process is the run's only writer until the block ends (normally or by an
    exception). The folder is created if missing. Not re-entrant."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self._mine: bytes | None = None

    def __enter__(self) -> RunLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        content = _content()
        for _ in range(MAX_TRIES):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = read_holder(self.folder)
                if holder is None:
                    continue  # released (or taken over) between the two calls: try again
                if _is_live(holder, self.folder):
                    raise _held_error(self.folder, holder) from None
                self._take_over(holder)
                continue
            try:
                os.write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._mine = content
            return self
        raise FacegenError(f"could not lock {self.folder}: other processes keep taking its lock; try again")

    def _take_over(self, stale: Holder) -> None:
        """Remove the stale lock unless another process replaced it meanwhile; one process at a time."""
        guard = self.path.with_name(LOCK_NAME + ".takeover")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            try:
                if time.time() - guard.stat().st_mtime > STARTING_GRACE_S:
                    guard.unlink()  # left by a process that died while taking over
            except FileNotFoundError:
                pass
            time.sleep(TAKEOVER_WAIT_S)
            return
        try:
            current = read_holder(self.folder)
            if current is not None and current.raw == stale.raw:
                self.path.unlink(missing_ok=True)
                who = _describe(stale) if stale.pid >= 0 else "a process that crashed while locking it"
                print(f"note: taking over the lock of {self.folder} left by {who}, which is no longer running",
                      file=sys.stderr)
        finally:
            guard.unlink(missing_ok=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._mine is not None:
            holder = read_holder(self.folder)
            if holder is not None and holder.raw == self._mine:
                self.path.unlink(missing_ok=True)
            self._mine = None
