"""Shared fixtures (a tiny toy-face dataset and tiny trained runs, built once per test session) and the `data`
marker: a test marked ``@pytest.mark.data("lfw/photos")`` skips, with one reason, when that part of ../shared/data
is absent."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from tests.fakes import tiny_args, train_toy_identity
from tests.helpers import SHARED_DATA


def pytest_collection_modifyitems(config, items) -> None:
    """Skip each ``data`` test whose folders or files under ../shared/data are not all there."""
    for item in items:
        for mark in item.iter_markers("data"):
            wanted = mark.args or (".",)
            missing = [part for part in wanted if not (SHARED_DATA / part).exists()]
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"needs {SHARED_DATA / missing[0]}, which is absent"))
                break


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
def evaluated_smile_run(smile_run) -> tuple[Path, str]:
    """``smile_run`` after ``evaluate.py --run`` (its metrics.json, figures and fitted judges), and what that
    printed: every test that reads the evaluation gets it, whichever runs first."""
    import evaluate

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        evaluate.main(["--run", str(smile_run)])
    return smile_run, printed.getvalue()


@pytest.fixture(scope="session")
def toy_identity(tmp_path_factory) -> Path:
    """An identity run (train_identity.py) on 12 toy people, one epoch, verified."""
    return train_toy_identity(tmp_path_factory.mktemp("toy_identity"), n_people=12, n_epochs=1, batch_size=12)

