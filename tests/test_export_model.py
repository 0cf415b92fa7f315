"""export_model.py: a run as one safetensors file (no pickle) that every --run flag accepts, bit for bit."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

import export_model
import sample_prior
from facegen.core.errors import FacegenError
from facegen.core.files import save_checkpoint
from facegen.models.registry import build_model
from facegen.runs import LAST, Run, load_trained, outputs_folder
from tests.fakes import record_run
from tests.helpers import run_script, script_refusal


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_export_round_trips_bit_for_bit(tiny_run, tmp_path):
    out = tmp_path / "cvae.safetensors"
    export_model.main(["--run", str(tiny_run), "--out", str(out)])
    run, model = load_trained(tiny_run)
    shared, shared_model = load_trained(out)
    a, b = model.state_dict(), shared_model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
    assert run.tracks().keys() == shared.tracks().keys() and run.tracks()
    assert all(torch.equal(run.tracks()[k], shared.tracks()[k]) for k in run.tracks())
    assert shared.record() == json.loads(json.dumps(run.record(), default=str))
    assert shared.path == outputs_folder(out) == tmp_path / "cvae_outputs" and shared.source == out
    with safe_open(out, framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["cond_names"]) == ["smile"] == shared.cond_names
    assert json.loads(meta["flags"])["model_config"] == run.model_config


def test_exported_model_samples_the_same_images(tiny_run, tmp_path):
    out = tmp_path / "shared.safetensors"
    export_model.main(["--run", str(tiny_run), "--out", str(out)])
    sample_prior.main(["--run", str(tiny_run), "--degree", "0.5", "--n", "6", "--seed", "3"])
    sample_prior.main(["--run", str(out), "--degree", "0.5", "--n", "6", "--seed", "3"])
    made = pixels(tmp_path / "shared_outputs/sampled/sampled_0.5.png")
    assert np.array_equal(made, pixels(tiny_run / "sampled/sampled_0.5.png")) and made.std() > 5


def test_extra_state_is_left_out_and_the_model_still_loads(tmp_path):
    """A depth-to-face GAN keeps its replay buffer as _extra_state: training-only, so not exported."""
    model = build_model("d2f_gan", {"size": 32, "channels": 3})
    record_run(tmp_path / "d2f", model)
    save_checkpoint(tmp_path / "d2f" / LAST, {"model": model.state_dict()})
    export_model.main(["--run", str(tmp_path / "d2f"), "--out", str(tmp_path / "d2f.safetensors")])
    loaded = Run.load(tmp_path / "d2f.safetensors").load_model()
    for k, v in model.state_dict().items():
        if not k.endswith("_extra_state"):
            assert torch.equal(v, loaded.state_dict()[k]), k


def test_a_model_file_that_does_not_fit_is_one_line(tiny_run, tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign, metadata={"author": "someone"})
    with pytest.raises(FacegenError, match="not a facegen model"):
        Run.load(foreign)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(FacegenError, match="not a readable safetensors file"):
        Run.load(broken)
    with pytest.raises(FacegenError, match="not found"):
        Run.load(tmp_path / "missing.safetensors")
    out = tmp_path / "cvae.safetensors"
    export_model.main(["--run", str(tiny_run), "--out", str(out)])
    with safe_open(out, framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    tensors.pop(next(k for k in tensors if k.startswith("model/")))
    save_file(tensors, out, metadata=meta)
    with pytest.raises(FacegenError, match="does not match the cvae model"):
        load_trained(out)


@pytest.mark.parametrize("extra, message", [
    (["--out", "model.pt"], "ends in .safetensors"),
    (["--out", "exists.safetensors"], "exists: pass --overwrite"),
])
def test_export_refusals_are_one_line(tiny_run, tmp_path, extra, message):
    (tmp_path / "exists.safetensors").write_bytes(b"keep me")
    script_refusal(run_script("export_model.py", "--run", tiny_run, *extra, cwd=tmp_path), message)
    assert (tmp_path / "exists.safetensors").read_bytes() == b"keep me"


def test_judges_fitted_for_a_model_file_are_found_by_its_name(tiny_run, tmp_path):
    """evaluate.py --run FILE caches its judges in FILE_outputs/; --judges FILE finds them there."""
    from facegen.analysis.judges import pixel

    out = tmp_path / "judged.safetensors"
    export_model.main(["--run", str(tiny_run), "--out", str(out)])
    run = Run.load(out)
    fitted = pixel.load_or_fit(run.path, pixel.SMILE, *run.faces())
    found = pixel.load_from(out, pixel.SMILE)
    assert np.array_equal(found.coef, fitted.coef) and (tmp_path / "judged_outputs" / "evaluators").is_dir()
