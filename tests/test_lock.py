"""The run-folder lock: one writer at a time (a real race between processes), stale locks taken over."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import socket
import time
from pathlib import Path

import pytest

from facegen.core import lock
from facegen.core.errors import FacegenError
from facegen.core.lock import RunLock, check_unlocked, read_holder

SPAWN = mp.get_context("spawn")


def contend(folder: str, start, hold, results, slow_reads: bool = False) -> None:
    """Take the lock as soon as every contender is ready; report won / lost; keep a won lock until all tried.
    ``slow_reads``: pause after each read of the lock file, so that every contender acts on what it read late."""
    if slow_reads:
        read = lock.read_holder

        def slow(folder):
            holder = read(folder)
            time.sleep(0.05)
            return holder

        lock.read_holder = slow
    start.wait()
    try:
        with RunLock(Path(folder)):
            results.put(("won", os.getpid()))
            hold.wait()
    except FacegenError as e:
        results.put(("lost", str(e)))
        hold.wait()


def lock_and_die(folder: str) -> None:
    """Take the lock and exit without releasing it, as a killed trainer would."""
    RunLock(Path(folder)).__enter__()
    os._exit(0)


def lock_and_wait(folder: str, locked, done) -> None:
    with RunLock(Path(folder)):
        locked.set()
        done.wait(30)


@pytest.mark.parametrize("stale", [False, True])
def test_exactly_one_of_several_processes_wins(tmp_path, stale):
    """Also when they all find the same stale lock: only one may remove it and lock the run."""
    if stale:
        dead = SPAWN.Process(target=lock_and_die, args=(str(tmp_path / "run"),))
        dead.start()
        dead.join(30)
        assert read_holder(tmp_path / "run").pid == dead.pid
    n = 4
    start, hold, results = SPAWN.Barrier(n), SPAWN.Barrier(n), SPAWN.Queue()
    procs = [SPAWN.Process(target=contend, args=(str(tmp_path / "run"), start, hold, results, stale))
             for _ in range(n)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    winners = [detail for kind, detail in outcomes if kind == "won"]
    losers = [detail for kind, detail in outcomes if kind == "lost"]
    assert len(winners) == 1 and len(losers) == n - 1
    # a loser that looks between the winner creating the lock file and writing into it sees "a process that is
    # starting up" (seen under load); any other holder would be a second winner
    assert all(f"being written by process {winners[0]} (started " in msg
               or "being written by a process that is starting up" in msg for msg in losers), losers
    assert not (tmp_path / "run" / ".lock").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    folder = tmp_path / "run"
    p = SPAWN.Process(target=lock_and_die, args=(str(folder),))
    p.start()
    p.join(30)
    dead = read_holder(folder)
    assert dead is not None and dead.pid == p.pid
    check_unlocked(folder)  # a dead writer does not stop readers
    with RunLock(folder):
        assert read_holder(folder).pid == os.getpid()
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (folder / ".lock").exists()


def test_live_lock_refuses_writers_and_readers_until_released(tmp_path):
    folder = tmp_path / "run"
    locked, done = SPAWN.Event(), SPAWN.Event()
    p = SPAWN.Process(target=lock_and_wait, args=(str(folder), locked, done))
    p.start()
    try:
        assert locked.wait(60)
        message = f"{folder} is being written by process {p.pid} (started "
        with pytest.raises(FacegenError, match=rf"^{re.escape(message)}.*\): wait for it to finish$"):
            check_unlocked(folder)
        with pytest.raises(FacegenError, match="wait for it to finish"), RunLock(folder):
            pass
    finally:
        done.set()
        p.join(30)
    check_unlocked(folder)
    with RunLock(folder):
        check_unlocked(folder)  # the writer itself may read its run


def test_lock_released_on_exception_and_keeps_others_locks(tmp_path):
    with pytest.raises(KeyError), RunLock(tmp_path):
        assert read_holder(tmp_path).pid == os.getpid()
        raise KeyError("a crash inside the block")
    assert read_holder(tmp_path) is None
    with RunLock(tmp_path):
        (tmp_path / ".lock").write_text('{"pid": 1, "host": "elsewhere", "started": "x"}')  # replaced meanwhile
    assert read_holder(tmp_path).host == "elsewhere"  # not ours: left alone


def write_lock(folder: Path, **fields) -> None:
    mine = json.loads(lock._content())
    (folder / ".lock").write_text(json.dumps({**mine, **fields}))


def test_reused_pid_and_reboot_count_as_stale(tmp_path, capsys):
    parent = os.getppid()  # alive, but not the process that wrote the lock
    if lock._proc_start(parent) is None:
        pytest.skip("no /proc here to tell a reused pid")
    write_lock(tmp_path, pid=parent, proc_start="1")
    check_unlocked(tmp_path)
    write_lock(tmp_path, pid=parent, proc_start=lock._proc_start(parent))
    with pytest.raises(FacegenError, match=f"process {parent} "):
        check_unlocked(tmp_path)
    write_lock(tmp_path, pid=parent, boot_id="another-boot")
    with RunLock(tmp_path):
        assert "taking over the lock" in capsys.readouterr().err


def test_other_hosts_and_fresh_unreadable_locks_are_respected(tmp_path):
    write_lock(tmp_path, pid=os.getpid(), host=socket.gethostname() + "-other")
    with pytest.raises(FacegenError, match=r"on .*-other .*delete .*\.lock if that process is no longer running"):
        check_unlocked(tmp_path)
    for pid in (0, -1):  # process groups, not a process: unreadable, so respected while young, like ""
        write_lock(tmp_path, pid=pid)
        with pytest.raises(FacegenError, match="a process that is starting up"):
            check_unlocked(tmp_path)
    write_lock(tmp_path, pid=2**40)  # beyond any pid: no such process
    check_unlocked(tmp_path)
    (tmp_path / ".lock").write_text("")  # a process between creating and writing its lock
    with pytest.raises(FacegenError, match="a process that is starting up"), RunLock(tmp_path):
        pass
    old = os.stat(tmp_path / ".lock").st_mtime - 2 * lock.STARTING_GRACE_S
    os.utime(tmp_path / ".lock", (old, old))  # ...or one that crashed doing so long ago
    with RunLock(tmp_path):
        assert read_holder(tmp_path).pid == os.getpid()
