"""How a training process uses the CPU's cores: how many compute threads, and how idle ones wait.

Two settings, both measured on this project's 2-core machine (README, "Performance"):

- **Waiting**: torch's CPU kernels run on OpenMP threads that, by default, spin on a core for a while after each
  parallel region before they sleep. With nothing else running that saves a wake-up; with another busy process
  on the same cores the spinning threads take the cores the other process (and this one's own lagging thread)
  need, and every small operation waits a whole scheduler slice. :func:`prefer_passive_waiting` makes idle
  threads sleep at once (``OMP_WAIT_POLICY=PASSIVE``); it changes no result, only how threads wait, and must run
  before torch is imported (the OpenMP runtime reads it when it loads).
- **How many**: one thread per core this process may really use (:func:`usable_cores`): the cores of its CPU
  affinity mask, fewer when a cgroup CPU quota (``docker --cpus``, Kubernetes limits) allows less, where torch
  would start one thread per core of the host. The count is a property of the run: it decides how sums are split
  between threads and so the last bits of every result, which is why it is chosen once from the machine (not
  from the momentary load) and a resumed run reuses it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_passive_waiting() -> None:
    """Let idle OpenMP threads sleep instead of spinning, unless the user chose a policy; call it before torch
    is imported (it has no effect on a runtime already loaded)."""
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")


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
