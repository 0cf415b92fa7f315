"""CPU threads: facegen lets idle OpenMP threads sleep (unless the user chose otherwise), the thread count follows
the cores the process may use (affinity, cgroup quota) and is recorded so a resumed run computes with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from facegen.cli.training import compute_threads
from facegen.core.threads import cgroup_quota, choose_waiting, cpu_busy_share, usable_cores
from facegen.runs import Run

ROOT = Path(__file__).resolve().parents[1]


def policy_seen_by_a_script(env: dict[str, str]) -> str:
    code = "import facegen.cli.args, os, torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env, check=True)
    return proc.stdout.strip()


def test_a_users_wait_policy_is_kept():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert policy_seen_by_a_script({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


@pytest.mark.parametrize(("busy", "expected", "spin"), [(0.05, None, "3000000"), (0.9, "PASSIVE", None),
                                                       (None, "PASSIVE", None)])
def test_idle_threads_sleep_only_when_the_cpu_is_busy_or_unknown(monkeypatch, busy, expected, spin):
    """Busy or unknown: sleep at once. Idle: spin ten times libgomp's default before sleeping (never ACTIVE, which
    keeps an idle process spinning without end)."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    choose_waiting(lambda: busy)
    assert os.environ.get("OMP_WAIT_POLICY") == expected and os.environ.get("GOMP_SPINCOUNT") == spin
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")  # the user's own spinning is kept too
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    choose_waiting(lambda: 0.9)
    assert "OMP_WAIT_POLICY" not in os.environ


def test_cpu_busy_share_from_two_readings_of_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    readings = iter(["cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n",  # user nice system idle iowait ...
                     "cpu  160 0 140 880 120 0 0 0 0 0\n"])
    stat.write_text(next(readings))
    got = cpu_busy_share(stat, 0.1, sleep=lambda _: stat.write_text(next(readings)))
    assert got == pytest.approx(1 - (180 + 20) / 300)  # 300 jiffies passed, 200 of them idle or iowait
    assert cpu_busy_share(tmp_path / "missing") is None


def write_cgroup(tmp_path: Path, proc_line: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_line)
    return root, proc


@pytest.mark.parametrize(("proc_line", "files", "cores"), [
    ("0::/job\n", {"job/cpu.max": "150000 100000\n"}, 1.5),  # v2, docker --cpus 1.5
    ("0::/job\n", {"job/cpu.max": "max 100000\n"}, None),  # v2, no limit
    ("0::/\n", {"cpu.max": "200000 100000\n"}, 2.0),  # v2, a container's own root
    ("4:cpu,cpuacct:/k8s/pod\n", {"cpu,cpuacct/k8s/pod/cpu.cfs_quota_us": "50000\n",
                                  "cpu,cpuacct/k8s/pod/cpu.cfs_period_us": "100000\n"}, 0.5),  # v1
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1, no limit
    ("3:memory:/x\n0::/\n", {}, None),  # no cpu controller files at all
])
def test_cgroup_quota_in_cores(tmp_path, proc_line, files, cores):
    root, proc = write_cgroup(tmp_path, proc_line, files)
    assert cgroup_quota(root, proc) == cores


def test_usable_cores_never_exceed_the_affinity_mask():
    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))


def test_compute_threads_sets_torch_and_auto_follows_the_cores(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert compute_threads(1) == 1 == torch.get_num_threads()
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        torch.set_num_threads(before)
        assert compute_threads(0) == min(before, usable_cores())
        monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a launcher's choice (torchrun) is kept
        torch.set_num_threads(1)
        assert compute_threads(0) == 1
    finally:
        torch.set_num_threads(before)


def test_a_run_records_the_thread_count_it_computed_with(tiny_run):
    """Auto (``--threads 0``) is resolved before it is recorded, so a resume computes with the same count; other
    tests change torch's global count later, so the record is checked against the cores, not the current count."""
    recorded = Run.load(tiny_run).args["threads"]
    assert isinstance(recorded, int) and 1 <= recorded <= usable_cores()
