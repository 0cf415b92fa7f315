"""A run's flags.json is checked when the run is opened (issue 23): wrong types are one line naming the file and
the field, never a crash in nn/conv.py or data/batches.py, whether a script reads the run or --resume continues it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import cvae
from facegen.core.errors import FacegenError
from facegen.core.typecheck import fits
from facegen.runs import FLAGS, Run
from tests.helpers import run_script, script_refusal


def damaged(tiny_run: Path, tmp_path: Path, section: str, key: str, value: object) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    record = json.loads((run / FLAGS).read_text())
    record[section][key] = value
    (run / FLAGS).write_text(json.dumps(record))
    return run


@pytest.mark.parametrize("section, key, value", [
    ("model_config", "size", [64]), ("model_config", "latent_size", "6"), ("model_config", "beta", "high"),
    ("data", "size", "50"), ("data", "conditions", "smile"), ("data", "val_fraction", None),
    ("dataset", "size", [32]), ("dataset", "channels", 3.0), ("dataset", "cond_names", "smile"),
])
def test_a_value_of_the_wrong_type_is_one_line_naming_it(tiny_run, tmp_path, section, key, value):
    run = damaged(tiny_run, tmp_path, section, key, value)
    with pytest.raises(FacegenError) as e:
        Run.load(run)
    assert str(run / FLAGS) in str(e.value) and f"{section}" in str(e.value) and key in str(e.value), e.value
    assert "\n" not in str(e.value)


def test_reading_and_resuming_a_damaged_run_exit_2_without_a_traceback(tiny_run, tmp_path):
    run = damaged(tiny_run, tmp_path, "model_config", "size", [64])
    for argv in (["sample_prior.py", "--run", str(run)], ["cvae.py", "--resume", "--out", str(run)]):
        script_refusal(run_script(*argv), "size is list [64], not int")


@pytest.mark.parametrize("key, value, words", [
    ("resize", [64], "records --resize as [64]"), ("lr", "fast", "records --lr as 'fast'"),
    ("batch_size", 0, "records --batch_size as 0"), ("dataset", "imagenet", "not one of"),
    ("amp", "yes", "records --amp as 'yes'"),
])
def test_resume_checks_the_flags_it_takes_from_the_run(tiny_run, tmp_path, key, value, words):
    run = damaged(tiny_run, tmp_path, "args", key, value)
    with pytest.raises(FacegenError, match=words.replace("[", r"\[").replace("]", r"\]")):
        cvae.main(["--resume", "--out", str(run), "--n_epochs", "4"])


def test_fits_reads_json_values_as_their_types():
    assert fits(3, float) and not fits(True, int) and not fits(3.0, int) and fits("a/b", Path)
    assert fits([1, 2], list[int]) and not fits([1, "x"], list[int]) and fits(None, int | None)
    assert fits([0.1, 0.2], tuple[float, float]) and not fits([0.1], tuple[float, float])
