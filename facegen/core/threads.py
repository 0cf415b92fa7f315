"""How a training process uses the CPU's cores: how many compute threads, and how idle ones wait.

Two settings, both measured on this project's 2-core machine (README, "Performance"):

- **Waiting**: torch's CPU kernels run on OpenMP threads that, by default, spin on a core for a while after each
  parallel region before they sleep. With nothing else running that saves a wake-up per small operation; with
  another busy process on the same cores the spinning threads take the cores that process (and this one's own
  lagging thread) needs, and every small operation waits a whole scheduler slice. Measured on this project's
  2-core machine, cvae.py at the study's setting for 30 epochs: idle, 15.1 s with spinning against 25.0 s with
  ``OMP_WAIT_POLICY=PASSIVE``; beside one busy process, 53.3 s against 26.0 s. :func:`choose_waiting` therefore
  looks at how busy the CPU is when the process starts (:func:`cpu_busy_share` over 0.1 s) and sets ``PASSIVE``
  only when other work is running (or when it cannot tell); a policy the user set is always kept. It must run
  before torch is imported (the OpenMP runtime reads the variable when it loads). Spinning until woken
  (``ACTIVE``) was as fast idle (15.2 s), faster when other work started later (38.8 against 53.3 s) and on another
  idle 2-core VM (16.4 against 18.0 s, issue 26), but an idle process then keeps a core busy (2.1 s of CPU in a 3 s
  sleep after one matrix product), which a demo server, a test runner or a parent waiting for its child would pay
  without end. On an idle CPU the threads therefore spin ten times longer than the runtime's default before they
  sleep (``GOMP_SPINCOUNT`` 3,000,000 against 300,000: about 0.07 s of spinning after the last parallel region,
  measured as CPU time in a sleep, so every pause within a training step is spun through and an idle process
  stops after a fraction of a second). That choice is to be timed by scripts/idle_benchmarks.sh.
- **How many**: one thread per core this process may really use (:func:`usable_cores`): the cores of its CPU
  affinity mask, fewer when a cgroup CPU quota (``docker --cpus``, Kubernetes limits) allows less, where torch
  would start one thread per core of the host. The count is a property of the run: it decides how sums are split
  between threads and so the last bits of every result, which is why it is chosen once from the machine (not
  from the momentary load) and a resumed run reuses it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

WAIT_POLICY = "OMP_WAIT_POLICY"


BUSY_SHARE = 0.25  # above this share of all cores busy with other work at start, idle threads sleep at once
IDLE_SPINCOUNT = "3000000"  # on an idle CPU: ten times libgomp's default spin before a thread sleeps (about 0.07 s)


def cpu_busy_share(stat: Path = Path("/proc/stat"), window: float = 0.1,
                   sleep: Callable[[float], None] = time.sleep) -> float | None:
    """The share of all cores' time that was not idle over ``window`` seconds (the aggregate ``cpu`` line of
    /proc/stat read twice; idle and iowait count as idle), or None where there is no /proc/stat."""
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)

    try:
        total0, idle0 = sample()
        sleep(window)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return None if total <= 0 else 1 - (idle1 - idle0) / total


def choose_waiting(busy: Callable[[], float | None] = cpu_busy_share) -> None:
    """Let idle OpenMP threads sleep at once (``OMP_WAIT_POLICY=PASSIVE``) when other work keeps the CPU busy at
    start, or when that cannot be measured; on an idle machine let them spin ``IDLE_SPINCOUNT`` times before they
    sleep. A policy (or ``GOMP_SPINCOUNT``) the user set is kept. Call it before torch is imported."""
    if WAIT_POLICY in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    share = busy()
    if share is None or share > BUSY_SHARE:
        os.environ[WAIT_POLICY] = "PASSIVE"
    else:
        os.environ["GOMP_SPINCOUNT"] = IDLE_SPINCOUNT


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call on this platform (macOS, Windows)
        return os.cpu_count() or 1


def cgroup_quota(root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores (quota / period), or None when there is none: cgroup v2
    ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD"), cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota
    -1: none), each looked up at the process's own cgroup path and at the root of the hierarchy."""
    try:
        lines = proc.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":  # cgroup v2
            for folder in (root / rel, root):
                try:
                    quota, period = (folder / "cpu.max").read_text().split()
                except (OSError, ValueError):
                    continue
                return None if quota == "max" else int(quota) / int(period)
        elif "cpu" in controllers.split(","):  # cgroup v1
            for folder in (root / controllers / rel, root / "cpu" / rel, root / controllers, root / "cpu"):
                try:
                    quota = int((folder / "cpu.cfs_quota_us").read_text())
                    period = int((folder / "cpu.cfs_period_us").read_text())
                except (OSError, ValueError):
                    continue
                return None if quota < 0 else quota / period
    return None


def usable_cores() -> int:
    """Cores this process may run on: its affinity mask, capped by a cgroup CPU quota (rounded up), at least 1."""
    quota = cgroup_quota()
    cores = _affinity()
    return max(1, min(cores, math.ceil(quota)) if quota else cores)
