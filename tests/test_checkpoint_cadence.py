"""Checkpoints on a cadence keep the run safe: a process killed (SIGKILL) between two checkpoints resumes from
the older one and ends equal to a straight run; Ctrl-C (SIGINT) in the middle of an epoch writes the last
finished epoch, exits 130 with one line, and that run resumes to the straight run too."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from facegen.cli.training import train_main
from facegen.core.files import load_checkpoint
from facegen.runs import LAST
from tests.fakes import tiny_args

pytestmark = pytest.mark.slow  # each test trains in subprocesses
ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 6
STUDY = ["--n_epochs", str(EPOCHS), "--eval_every", "2"]

# Runs cvae.py in a subprocess with the trainer's clock replaced by one that advances 10 s per epoch, so the
# 25-second cadence writes last.pt after epochs 3 and 6, and with one of two accidents staged at a fixed point:
# KILL_AFTER k: SIGKILL right after epoch k's checkpoint step (k = 5: epochs 4 and 5 are not on disk);
# INTERRUPT_IN k: SIGINT (what Ctrl-C sends) after two batches of epoch k.
DRIVER = """
import os, runpy, signal, sys, time, types
import facegen.train.trainer as tr

ACCIDENT, AT = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if this test runs in background
clock = {"t": 0.0}
tr.time = types.SimpleNamespace(monotonic=lambda: clock["t"], perf_counter=time.perf_counter)
train_epoch, checkpoint, batches = tr.Trainer.train_epoch, tr.Trainer.checkpoint, tr.Trainer.batches

def timed_epoch(self):
    clock["t"] += 10.0
    return train_epoch(self)

def killing_checkpoint(self, last):
    checkpoint(self, last)
    if ACCIDENT == "kill" and self.epoch == AT:
        os.kill(os.getpid(), signal.SIGKILL)

def interrupted_batches(self):
    for i, batch in enumerate(batches(self)):
        if ACCIDENT == "interrupt" and self.epoch + 1 == AT and i == 2:
            os.kill(os.getpid(), signal.SIGINT)
        yield batch

tr.Trainer.train_epoch, tr.Trainer.checkpoint, tr.Trainer.batches = timed_epoch, killing_checkpoint, interrupted_batches
sys.argv = ["cvae.py", *sys.argv[3:]]
runpy.run_path("cvae.py", run_name="__main__")
"""


def staged(tmp_path: Path, args: list[str], accident: str, at: int) -> subprocess.CompletedProcess:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.run([sys.executable, str(driver), accident, str(at), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def rows(run: Path) -> list[dict]:
    """training.csv without its wall-clock column."""
    with (run / "training.csv").open(newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def assert_same_run(a: Path, b: Path) -> None:
    ca, cb = load_checkpoint(a / LAST), load_checkpoint(b / LAST)
    assert ca["epoch"] == cb["epoch"] == EPOCHS
    for key in ca["model"]:
        torch.testing.assert_close(ca["model"][key], cb["model"][key], rtol=0, atol=0, msg=key)
    for name, state in ca["optimizers"].items():
        for i, s in state["state"].items():
            for k, v in s.items():
                torch.testing.assert_close(v, cb["optimizers"][name]["state"][i][k], rtol=0, atol=0)
    assert rows(a) == rows(b)
    assert [r["epoch"] for r in rows(b)] == [str(e) for e in range(1, EPOCHS + 1)]


@pytest.fixture(scope="module")
def straight(toy_root) -> Path:
    return train_main(tiny_args(toy_root, "straight", *STUDY), "cvae")


def test_killed_between_cadence_checkpoints_resumes_to_the_straight_run(toy_root, tmp_path, straight):
    args = tiny_args(toy_root, "killed", *STUDY, "--checkpoint_seconds", "25", "--overwrite")
    proc = staged(tmp_path, args, "kill", 5)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    run = toy_root / "killed"
    assert load_checkpoint(run / LAST)["epoch"] == 3  # written by the cadence; epochs 4 and 5 died with it
    assert len(rows(run)) == 5  # the log ran ahead of the checkpoint
    assert (run / "iterations/iter_4.png").exists()
    train_main([*args[:-1], "--resume", "--n_epochs", "3"], "cvae")  # nothing to train: the folder is made to agree
    assert [r["epoch"] for r in rows(run)] == ["1", "2", "3"] and not (run / "iterations/iter_4.png").exists()
    train_main([*args[:-1], "--resume"], "cvae")
    assert_same_run(straight, run)


def test_ctrl_c_saves_the_last_finished_epoch_and_exits_130_with_one_line(toy_root, tmp_path, straight):
    args = tiny_args(toy_root, "stopped", *STUDY, "--checkpoint_seconds", "1e9", "--overwrite")
    proc = staged(tmp_path, args, "interrupt", 4)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    run = toy_root / "stopped"
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"interrupted in epoch 4 of {EPOCHS}: {run / LAST} holds epoch 3; continue with --resume " \
                   f"--out {run}"
    assert load_checkpoint(run / LAST)["epoch"] == 3  # nothing was due on the cadence: Ctrl-C wrote it
    train_main([*args[:-1], "--resume"], "cvae")
    assert_same_run(straight, run)
