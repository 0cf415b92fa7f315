"""The slider window's state on a trained toy CVAE: sliders move the face along their directions and back exactly,
the smile condition moves the project's smile judge the right way, save writes PNG + JSON, --set/--save renders
without a window, bad input is one line with exit status 2; and the window itself under a virtual display."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import face_sliders
from facegen.analysis.judges import pixel
from facegen.analysis.latent import space
from facegen.apps.sliders import parse_settings
from facegen.cli.args import guard
from facegen.cli.sliders import build_state
from facegen.core.errors import FacegenError
from facegen.runs import Run

pytestmark = pytest.mark.slow  # every test here reads smile_run, trained for about half a minute

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def state_of(smile_run):
    run = Run.load(smile_run)
    model = run.load_model()
    return run, model, build_state(run, model, k=4)


def test_a_slider_moves_the_face_along_its_direction_and_back(state_of):
    run, model, state = state_of
    assert state.names == ["pc0", "pc1", "pc2", "pc3", "smile"]
    original = state.image()
    state.set("pc1", 2.0)
    d = state.directions[1]
    expected = space.decode(model, torch.from_numpy(state.center + 2.0 * d.step * d.vector).float()[None],
                             state.condition())[0]
    moved = state.image()
    assert torch.allclose(moved, expected, atol=1e-5) and (moved - original).abs().mean() > 0.005
    state.set("pc1", 0.0)
    assert torch.equal(state.image(), original)


def test_a_random_face_starts_at_its_coordinates_and_reset_returns_to_it(state_of):
    _, _, state = state_of
    state.random_face(3)
    z = space.prior_noise(1, 8, 3)[0]
    assert torch.allclose(state.code(), z, atol=1e-5)  # the sliders start where the face is
    coords = np.array([state.values[f"pc{i}"] for i in range(4)])
    fitted = np.array([(z.double().numpy() - state.center) @ d.vector / d.step for d in state.directions])
    assert np.allclose(coords, fitted, atol=1e-6)  # orthonormal directions: least squares is the projection
    start = state.image()
    state.set_many({"pc0": 3.0, "smile": 1.0})
    state.reset()
    assert torch.equal(state.image(), start)
    with pytest.raises(FacegenError, match="no slider 'pc9'"):
        state.set_many({"pc0": 1.0, "pc9": 1.0})
    assert state.values["pc0"] == state.start["pc0"]  # nothing changed by a refused setting


def test_the_smile_slider_moves_the_smile_judge(state_of, smile_run):
    run, _, state = state_of
    train, val = run.faces()
    judge = pixel.load_or_fit(smile_run, pixel.SMILE, train, val)
    frowns, smiles = [], []
    for seed in range(12):
        state.random_face(seed)
        for degree, into in ((-1.0, frowns), (1.0, smiles)):
            state.set("smile", degree)
            into.append(state.image())
    low = judge.score(torch.stack(frowns))
    high = judge.score(torch.stack(smiles))
    assert (high > low).mean() >= 0.75 and (high - low).mean() > 0.3


def test_save_writes_png_and_json(state_of, tmp_path):
    _, _, state = state_of
    state.set_many({"pc0": 1.5, "smile": 0.5})
    png, js = state.save(tmp_path / "face.png")
    pixels = np.asarray(Image.open(png))
    assert pixels.shape == (32, 32, 3)
    assert np.abs(pixels / 255 - state.image().permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    record = json.loads(js.read_text())
    assert record["sliders"]["pc0"] == 1.5 and record["sliders"]["smile"] == 0.5
    assert record["principal_method"] == "pca" and len(record["code"]) == 8 and record["condition"] == [0.5]
    with pytest.raises(FacegenError, match=".png"):
        state.save(tmp_path / "face.jpg")


def test_set_and_save_render_without_a_window(smile_run, tmp_path):
    face_sliders.main(["--run", str(smile_run), "--k", "3", "--set", "pc0=2,pc2=-1,smile=0.5", "--save",
                       str(tmp_path / "a.png")])
    face_sliders.main(["--run", str(smile_run), "--k", "3", "--set", "pc0=2,pc2=-1,smile=0.5", "--save",
                       str(tmp_path / "b.png")])
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text())["sliders"]["pc2"] == -1
    assert parse_settings("pc0=2, smile=-0.5") == {"pc0": 2.0, "smile": -0.5}


def fails(capsys, *args: str) -> str:
    """face_sliders.py as its command line runs it (through guard): exit status 2 and one line on stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        guard(lambda: face_sliders.main(list(args)))
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err and "\n" not in err, err
    return err


def test_bad_input_is_one_line_and_exit_status_2(smile_run, tmp_path, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    # no trained attribute net, even where the project has one: Eyeglasses has no judge
    monkeypatch.setattr("facegen.analysis.judges.by_attribute.DEFAULT_FEATURE_NET", tmp_path / "no_attribute_net.pt")

    plt.switch_backend("agg")  # no window may open, even on a desktop
    run, out = str(smile_run), str(tmp_path / "f.png")
    assert "--k 9" in fails(capsys, "--run", run, "--k", "9", "--save", out)
    assert "pc7" in fails(capsys, "--run", run, "--k", "2", "--set", "pc7=1", "--save", out)
    assert "NAME=NUMBER" in fails(capsys, "--run", run, "--set", "pc0=lots", "--save", out)
    assert "Eyeglasses" in fails(capsys, "--run", run, "--attributes", "Eyeglasses", "--samples", "100", "--save", out)
    assert "--method" in fails(capsys, "--run", run, "--method", "ica")
    assert "cannot open a window" in fails(capsys, "--run", run, "--k", "2")
    not_a_decoder = tmp_path / "classifier"  # the run's flags, declared as a model that cannot decode
    not_a_decoder.mkdir()
    record = json.loads((smile_run / "flags.json").read_text())
    record["model"] = "attrnet"
    (not_a_decoder / "flags.json").write_text(json.dumps(record))
    assert "decode" in fails(capsys, "--run", str(not_a_decoder))


def test_a_photo_needs_an_encoder(tmp_path, monkeypatch, state_of, smile_run):
    _, model, state = state_of
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (200, 150, 120)).save(photo)
    state.load_photo(photo)  # the CVAE encodes it
    face_sliders.main(["--run", str(smile_run), "--k", "2", "--photo", str(photo), "--save", str(tmp_path / "p.png")])
    monkeypatch.setattr(type(model), "encode", None)  # now it is no Encoder
    with pytest.raises(FacegenError, match="loading a photo.*needs a model that can encode"):
        state.load_photo(photo)
    with pytest.raises(FacegenError, match="--photo .* needs a model that can encode"):
        face_sliders.main(["--run", str(smile_run), "--photo", str(photo), "--save", str(tmp_path / "q.png")])


@pytest.fixture
def display():
    """A virtual X display (Xvfb picks a free number and writes it to a pipe, which must stay open while it
    runs); skipped where there is no Xvfb or it cannot start."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("no Xvfb on this machine (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 15)
        number = os.read(read, 16).decode().strip() if ready else ""
        if not number.isdigit() or proc.poll() is not None:
            pytest.skip("Xvfb could not start a display")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)
        os.close(read)


def test_the_window_opens_under_a_virtual_display(smile_run, tmp_path, display):
    pytest.importorskip("tkinter")
    shot = tmp_path / "window.png"
    proc = subprocess.run([sys.executable, "face_sliders.py", "--run", str(smile_run), "--k", "4", "--set",
                           "pc0=2,smile=0.8", "--screenshot", str(shot)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DISPLAY": display, "MPLBACKEND": "TkAgg"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot))
    assert pixels.shape[0] > 400 and pixels.shape[1] > 600 and pixels.std() > 10
    slowest = float(proc.stdout.split("slowest ")[1].split(" ms")[0])
    assert "2 redraws" in proc.stdout and slowest < 1000, proc.stdout
