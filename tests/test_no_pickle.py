"""A run folder is data, never code (issue 23): no reader unpickles; a planted pickle is refused in one line (exit
2) by every script family and its payload never runs; old pickled runs convert only with upgrade_run.py --trust."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import upgrade_run
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, save_checkpoint
from facegen.core.seeding import rng_state, set_rng_state
from facegen.data.cache import decode_images
from facegen.models.registry import build_model
from facegen.nn.attrnet import load_attribute_net
from facegen.runs import LAST, Run
from tests.fakes import record_run
from tests.helpers import ROOT, run_script, script_refusal

UNPICKLING = re.compile(r"weights_only\s*=\s*False|pickle\.loads?\(|joblib\.load\(|allow_pickle\s*=\s*True|"
                        r"torch\.load\((?![^)]*weights_only\s*=\s*True)")
CONVERTER = ROOT / "facegen" / "cli" / "upgrade.py"  # the documented --trust opt-in: the one place allowed


class Payload:
    """Unpickling this runs a shell command that creates ``marker`` (what a hostile run would do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_no_reader_unpickles():
    """No torch.load without weights_only=True, no pickle / joblib load, no np.load(allow_pickle=True) in the
    package or the scripts, except the trusted converter."""
    files = [*ROOT.glob("*.py"), *(ROOT / "facegen").rglob("*.py")]
    found = [f"{f.relative_to(ROOT)}:{n}" for f in files if f != CONVERTER
             for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if UNPICKLING.search(line)]
    assert not found, found
    assert UNPICKLING.search('torch.load(path, map_location="cpu", weights_only=False)')  # the pattern bites
    assert UNPICKLING.search("torch.load(path)") and not UNPICKLING.search("torch.load(p, weights_only=True)")


@pytest.fixture(scope="module")
def planted(tiny_run, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(a copy of the tiny run whose last.pt carries a payload, a depth-to-face run likewise, the payload's
    marker)."""
    space = tmp_path_factory.mktemp("planted")
    marker = space / "payload_ran"
    run = space / "cvae"
    shutil.copytree(tiny_run, run)
    ckpt = load_checkpoint(run / LAST)
    save_checkpoint(run / LAST, {**ckpt, "note": Payload(marker)})
    d2f = space / "d2f"
    model = build_model("d2f_supervised", {"size": 32, "channels": 3})
    record_run(d2f, model)
    save_checkpoint(d2f / LAST, {"model": model.state_dict(), "x": Payload(marker)})
    return run, d2f, marker


def refused(args: list[str], marker: Path, cwd: Path) -> str:
    line = script_refusal(run_script(*args, cwd=cwd))
    assert not marker.exists(), "the payload ran"
    return line


@pytest.mark.parametrize("family, argv", [
    ("sample", ["sample_prior.py", "--run", "{run}", "--n", "2"]),
    ("explore", ["interpolate.py", "--run", "{run}"]),
    ("evaluate", ["evaluate.py", "--run", "{run}"]),
    ("edit", ["edit_photo.py", "{tmp}", "--run", "{run}", "--smile", "1", "--out", "{tmp}/out"]),
    ("translate", ["translate.py", "--run", "{d2f}", "--images", "{tmp}", "--out", "{tmp}/out"]),
    ("resume", ["cvae.py", "--resume", "--out", "{run}", "--n_epochs", "5"]),
    ("export", ["export_model.py", "--run", "{run}", "--out", "{tmp}/m.safetensors"]),
])
def test_a_planted_checkpoint_is_refused_and_never_runs(planted, tmp_path, family, argv):
    run, d2f, marker = planted
    args = [argv[0], *(a.format(run=run, d2f=d2f, tmp=tmp_path) for a in argv[1:])]
    line = refused(args, marker, tmp_path)
    assert "holds pickled Python objects" in line and "upgrade_run.py --run RUN --trust" in line, line


def test_a_planted_attribute_net_is_refused(tmp_path):
    marker = tmp_path / "payload_ran"
    torch.save({"kind": "attribute-net", "model": Payload(marker)}, tmp_path / "attribute_net.pt")
    with pytest.raises(FacegenError, match="holds pickled Python objects"):
        load_attribute_net(tmp_path / "attribute_net.pt")
    assert not marker.exists()


def test_a_planted_image_cache_is_not_loaded_but_rebuilt(tmp_path, capsys):
    marker = tmp_path / "payload_ran"
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, dtype=np.uint8)).save(tmp_path / f"f{i}.png")
    paths = sorted(tmp_path.glob("f*.png"))
    first = decode_images(paths, size=32, channels=3, cache_dir=tmp_path / "cache")
    (cached,) = (tmp_path / "cache").iterdir()
    torch.save({"images": Payload(marker), "sha256": ""}, cached)
    capsys.readouterr()
    again = decode_images(paths, size=32, channels=3, cache_dir=tmp_path / "cache")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds pickled objects, which are never loaded" in err[0], err
    assert torch.equal(again, first) and not marker.exists()
    assert torch.equal(torch.load(cached, weights_only=True)["images"], first)  # rewritten as tensors


def old_format(state: dict) -> dict:
    """A random state as checkpoints held it before issue 23: NumPy's legacy tuple and Python's getstate()."""
    n, p = state["numpy"], state["python"]
    return {**state, "numpy": ("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]),
            "python": (p["version"], tuple(p["internal"].tolist()), p["gauss_next"])}


def test_an_old_pickled_run_converts_only_with_trust(tiny_run, tmp_path, capsys):
    run = tmp_path / "old"
    shutil.copytree(tiny_run, run)
    new = load_checkpoint(run / LAST)
    old = {**new, "rng": [old_format(r) for r in new["rng"]], "epoch": np.int64(new["epoch"]),
           "record": {**new["record"], "where": run}}
    torch.save(old, run / LAST)
    with pytest.raises(FacegenError, match="upgrade_run.py --run RUN --trust"):
        Run.load(run).load_model()
    with pytest.raises(FacegenError, match="add --trust only for a run you made"):
        upgrade_run.main(["--run", str(run)])
    upgrade_run.main(["--run", str(run), "--trust"])
    assert "rewrote 1 file(s)" in capsys.readouterr().out
    converted = torch.load(run / LAST, weights_only=True)
    assert converted["epoch"] == new["epoch"] and converted["record"]["where"] == str(run)
    model, original = Run.load(run).load_model(), Run.load(tiny_run).load_model()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), original.state_dict().values(),
                                                 strict=True))
    draws = []
    for state in (new["rng"][0], converted["rng"][0]):
        set_rng_state(state)
        draws.append((random.random(), np.random.normal(), torch.rand(2).tolist()))
    assert draws[0] == draws[1]
    upgrade_run.main(["--run", str(run), "--trust"])
    assert "nothing to convert" in capsys.readouterr().out


def test_random_states_are_plain_and_restore_every_stream(tmp_path):
    random.seed(5)
    np.random.seed(5)
    np.random.normal()  # a cached Gaussian in NumPy's state
    state = rng_state()
    first = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3).tolist())
    torch.save(state, tmp_path / "rng.pt")
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.normal(), np.random.rand(), torch.rand(3).tolist()) == first
