"""Shared fixtures: a tiny toy-face dataset and a tiny trained CVAE run, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def tiny_args(tmp: Path, model: str = "cvae", *extra: str) -> list[str]:
    """Flags for a seconds-long training run on 160 toy faces at 32 px, all under ``tmp``."""
    return ["--dataset", "toy", "--toy_dir", str(tmp / "toy"), "--toy_n", "160", "--resize", "32",
            "--cache_dir", str(tmp / "cache"), "--latent_size", "6", "--batch_size", "16",
            "--n_epochs", "3", "--eval_every", "1", "--out", str(tmp / model), *extra]


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory) -> Path:
    """The user cache folder (templates, judges fitted for scripts that only read a run) of this session: never
    the tester's own ~/.cache. Subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("user_cache")
    os.environ["FACEGEN_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A session-wide scratch folder whose toy faces and cache are shared by tests that train."""
    return tmp_path_factory.mktemp("toyspace")


@pytest.fixture(scope="session")
def tiny_run(toy_root) -> Path:
    """A CVAE trained for 3 epochs on toy faces: a complete run folder for the exploration scripts."""
    from facegen.cli.training import train_main

    return train_main(tiny_args(toy_root, "cvae"), "cvae")


@pytest.fixture(scope="session")
def smile_run(toy_root) -> Path:
    """A CVAE trained long enough on toy faces for its smile condition to work (about half a minute; the metric
    and slider tests share it)."""
    from facegen.cli.training import train_main

    args = ["--dataset", "toy", "--toy_dir", str(toy_root / "toy800"), "--toy_n", "800", "--resize", "32",
            "--cache_dir", str(toy_root / "cache"), "--latent_size", "8", "--base_channels", "16",
            "--batch_size", "32", "--lr", "3e-3", "--n_epochs", "8", "--eval_every", "8",
            "--out", str(toy_root / "smile_cvae")]
    return train_main(args, "cvae")


@pytest.fixture(scope="session")
def toy_identity(tmp_path_factory) -> Path:
    """An identity run (train_identity.py) on 12 toy people, one epoch, verified."""
    from test_identity import train_toy_identity

    return train_toy_identity(tmp_path_factory.mktemp("toy_identity"), n_people=12, n_epochs=1, batch_size=12)


def record_run(out: Path, model, faces=None):
    """Write the flags.json of a model trained directly with the Trainer (no training script), so Run.load and
    the exploration code can read the folder."""
    from facegen.data.spec import DataSpec
    from facegen.runs import Run

    cond = list(faces.cond_names) if faces is not None else [f"c{i}" for i in range(model.cfg.cond_dim)]
    run = Run(path=out, model_name=model.name, model_config=model.cfg.to_dict(), train_config={}, data=DataSpec(),
              dataset={"source": "test", "n_faces": 0, "n_train": 0, "n_val": 0, "size": model.cfg.size,
                       "channels": model.cfg.channels, "cond_names": cond})
    run.save()
    return run
