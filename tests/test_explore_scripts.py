"""The exploration scripts run end to end on a tiny trained run and write their figures; bad input is one line."""

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

import changing_smiles
import dataset_bias
import latent_analysis
import sample_across_axis
import sample_across_pca_axis
import sample_prior
from facegen.analysis.latent import explore
from facegen.core.errors import FacegenError
from facegen.models.registry import build_model
from facegen.runs import Run
from tests.helpers import run_script, script_refusal, written


def face_photo(path: Path, size: int = 80) -> Path:
    """A face-sized RGB picture (a smooth gradient is enough for the pipeline)."""
    ramp = torch.linspace(0, 255, size).to(torch.uint8)
    Image.fromarray(torch.stack([ramp.expand(size, size)] * 3, -1).numpy()).save(path)
    return path


def test_sample_prior_single_sweep_extrapolation_temperatures(tiny_run):
    sample_prior.main(["--run", str(tiny_run), "--degree", "0.6", "--n", "8"])
    sample_prior.main(["--run", str(tiny_run), "--sweep", "--n", "4"])
    sample_prior.main(["--run", str(tiny_run), "--degrees", "-3,-1.1,1.1,3", "--n", "3"])
    sample_prior.main(["--run", str(tiny_run), "--temperatures", "0.25:1.0:0.25", "--n", "3"])
    written(tiny_run, "sampled/sampled_0.6.png", "sampled/all_synthetic.png", "sampled/degrees_-3_-1.1_1.1_3.png",
            "sampled/temperatures_0.png")


def test_changing_smiles_on_validation_faces_and_photos(tiny_run, tmp_path):
    changing_smiles.main(["--run", str(tiny_run), "--n", "4"])
    written(tiny_run, "forcing/forcing_smiles_all.png", "forcing/forcing_smiles_one.png")
    before = (tiny_run / "forcing/forcing_smiles_all.png").read_bytes()
    changing_smiles.main(["--run", str(tiny_run), "--set", "-1,0,1", "--n", "4"])
    photo = face_photo(tmp_path / "me.png")
    changing_smiles.main(["--run", str(tiny_run), "--set", "-1,0,1", "--images", str(photo), "--face", "0"])
    written(tiny_run, "forcing/forcing_smiles_set_-1_0_1.png", "forcing/forcing_photos_set_-1_0_1.png",
            "forcing/forcing_photos_one.png")
    assert (tiny_run / "forcing/forcing_smiles_all.png").read_bytes() == before  # no mode overwrites another


def test_axis_walks(tiny_run, tmp_path):
    sample_across_axis.main(["--run", str(tiny_run), "--axis", "1", "--range", "-2:2", "--steps", "5"])
    sample_across_axis.main(["--run", str(tiny_run), "--axis", "cond", "--steps", "4"])
    sample_across_axis.main(["--run", str(tiny_run), "--all", "--steps", "3",
                             "--from-image", str(face_photo(tmp_path / "p.png"))])
    latent_size = Run.load(tiny_run).model_config["latent_size"]
    written(tiny_run, "axis/axis_cond.png", "axis/axis_overview.png",
            *[f"axis/axis_{k}.png" for k in range(latent_size)])


def test_pca_walks_and_latent_analysis(tiny_run):
    sample_across_pca_axis.main(["--run", str(tiny_run), "--steps", "4"])
    latent_size = Run.load(tiny_run).model_config["latent_size"]
    written(tiny_run, "axis/pca_overview.png", *[f"axis/pca_axis_{k}.png" for k in range(latent_size)])
    latent_analysis.main(["--run", str(tiny_run), "--n_pairs", "2", "--steps", "4"])
    latent_analysis.main(["--run", str(tiny_run), "--pair", "0", "1", "--steps", "4"])
    written(tiny_run, "plots/latent_forward.png", "plots/latent_forward_transformed.png",
            "plots/pca_explained_variance.png", "interp/interp_random.png", "interp/interp_0_1.png")


def test_dataset_bias(toy_root, tiny_run, tmp_path, capsys):
    toy = toy_root / "toy"  # the tiny run's toy faces: images/ and labels.csv
    dataset_bias.main(["--data", str(toy / "images"), "--labels", str(toy / "labels.csv"), "--out", str(tmp_path)])
    written(tmp_path, "plots/dataset_bias.png")
    assert "share female" in capsys.readouterr().out


def test_unconditional_runs_sample_but_refuse_smile_edits(tiny_run, tmp_path, capsys):
    tiny = Run.load(tiny_run)
    run = dataclasses.replace(tiny, path=tmp_path, model_name="vae")
    model = build_model("vae", tiny.model_config).eval()
    explore.sample_prior(run, model, seed=0, degree=0.5, n=4)
    assert "no conditions" in capsys.readouterr().out
    explore.sample_across_axis(run, model, axis=0, steps=3)
    explore.latent_analysis(run, model, seed=0, n_pairs=1, steps=3)
    written(tmp_path, "sampled/sampled_0.5.png", "axis/axis_0.png", "plots/latent_forward.png",
            "interp/interp_random.png")
    with pytest.raises(FacegenError, match="conditional"):
        explore.changing_smiles(run, model, shifts=[0.5])
    with pytest.raises(FacegenError, match="conditional"):
        explore.sample_across_axis(run, model, axis="cond")


def test_bad_inputs_are_one_line_errors(tiny_run, tmp_path):
    no_checkpoint = tmp_path / "empty_run"
    no_checkpoint.mkdir()
    shutil.copy(tiny_run / "flags.json", no_checkpoint)
    with pytest.raises(FacegenError, match="checkpoint"):
        sample_prior.main(["--run", str(no_checkpoint)])
    with pytest.raises(FacegenError, match="out of range"):
        sample_across_axis.main(["--run", str(tiny_run), "--axis", "99"])
    with pytest.raises(FacegenError, match="--axis"):
        sample_across_axis.main(["--run", str(tiny_run), "--axis", "mouth"])
    with pytest.raises(SystemExit, match="2"):  # refused by the flag's type (tests/test_bad_input.py: the line)
        sample_prior.main(["--run", str(tiny_run), "--degrees", "0.5,lots"])
    tiny = tmp_path / "icon.png"
    Image.new("RGB", (8, 8)).save(tiny)
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("not a picture")
    for bad in (tiny, not_image):
        with pytest.raises(FacegenError, match=str(bad.name)):
            changing_smiles.main(["--run", str(tiny_run), "--images", str(bad)])


def test_bad_run_folder_exits_2_with_one_line(tmp_path):
    line = script_refusal(run_script("sample_prior.py", "--run", tmp_path, "--sweep"), "flags.json")
    assert line.startswith("error:")
