"""A semi-supervised, gender-conditioned cvae.py run end to end: exploration scripts, --gender/--age, q(y|x)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import changing_smiles
import evaluate
import predict_smiles
import sample_across_axis
import sample_prior
from facegen.analysis.latent.explore import faces_to_edit
from facegen.cli.training import train_main
from facegen.core.errors import FacegenError
from facegen.data.labels import read_smile_labels, write_smile_labels
from facegen.data.photos import load_photos
from facegen.data.toyfaces import make_toy_dataset
from facegen.runs import Run
from tests.helpers import written


@pytest.fixture(scope="module")
def semi_run(toy_root, tmp_path_factory):
    """cvae.py --unlabeled on toy faces: 60 of 160 carry a label; conditions smile,gender."""
    images, labels = make_toy_dataset(toy_root / "toy", n=160)
    tmp = tmp_path_factory.mktemp("semi")
    few = dict(sorted(read_smile_labels(labels).items())[:60])
    write_smile_labels(tmp / "few.csv", few)
    return train_main([
        "--data", str(images), "--labels", str(tmp / "few.csv"), "--unlabeled", str(images),
        "--conditions", "smile,gender", "--resize", "32", "--cache_dir", str(toy_root / "cache"),
        "--latent_size", "6", "--batch_size", "16", "--n_epochs", "2", "--eval_every", "1",
        "--val_fraction", "0.2", "--out", str(tmp / "run")], "cvae")


def test_run_is_semi_supervised_over_every_face(semi_run):
    flags = json.loads((semi_run / "flags.json").read_text())
    assert flags["model"] == "sscvae"
    assert flags["dataset"]["n_faces"] == 160 and flags["dataset"]["cond_names"] == ["smile", "gender"]


def test_gender_flag_changes_the_decoded_samples(semi_run):
    pixels = {}
    for gender, name in (("male", "sampled_1_gender-1.png"), ("female", "sampled_1_gender1.png")):
        sample_prior.main(["--run", str(semi_run), "--n", "4", "--degree", "1", "--gender", gender])
        pixels[gender] = np.asarray(Image.open(semi_run / "sampled" / name), dtype=np.float32)
    assert np.abs(pixels["male"] - pixels["female"]).mean() > 0.5


@pytest.mark.parametrize(("axis", "name"), [("gender", "axis_gender_gender-0.5.png"), ("cond", "axis_cond.png")])
def test_condition_axis_walks(semi_run, axis, name):
    sample_across_axis.main(["--run", str(semi_run), "--axis", axis, "--steps", "4",
                             *(["--gender", "-0.5"] if axis == "gender" else [])])
    written(semi_run / "axis", name)


def test_condition_walk_with_one_row_per_prior_sample(semi_run):
    for n in ("1", "3"):
        sample_across_axis.main(["--run", str(semi_run), "--axis", "gender", "--n", n, "--steps", "4"])
    one = Image.open(semi_run / "axis" / "axis_gender.png")
    three = Image.open(semi_run / "axis" / "axis_gender_samples.png")
    assert three.height >= one.height + 2 * 32  # two more rows of 32-px faces
    with pytest.raises(FacegenError, match="condition walks"):
        sample_across_axis.main(["--run", str(semi_run), "--axis", "2", "--n", "2"])
    with pytest.raises(SystemExit, match="2"):  # --n 0: refused by the flag's type (one line, tests/test_bad_input.py)
        sample_across_axis.main(["--run", str(semi_run), "--axis", "gender", "--n", "0"])


def test_condition_the_run_lacks_and_bad_values_are_clear_errors(semi_run, capsys):
    with pytest.raises(FacegenError, match="no 'age' condition"):
        sample_across_axis.main(["--run", str(semi_run), "--axis", "age"])
    with pytest.raises(FacegenError, match="no 'age' condition"):
        sample_prior.main(["--run", str(semi_run), "--age", "30"])
    for flag, value in (("--gender", "tall"), ("--gender", "2"), ("--age", "150")):
        with pytest.raises(SystemExit, match="2"):
            sample_prior.main(["--run", str(semi_run), flag, value])
        assert f"argument {flag}: expected" in capsys.readouterr().err


def test_photos_without_a_label_take_the_degree_q_predicts(semi_run, tmp_path):
    photo = tmp_path / "me.png"
    Image.new("RGB", (80, 80), (200, 160, 140)).save(photo)
    run = Run.load(semi_run)
    model = run.load_model()
    _, y, _ = faces_to_edit(model, run, 1, [photo], None, gender=1.0)
    with torch.no_grad():
        predicted = float(model.eval().predict_smile(load_photos([photo], 32, 3)))
    assert y[0].tolist() == pytest.approx([predicted, 1.0], abs=1e-5)
    _, y_set, _ = faces_to_edit(model, run, 1, [photo], 0.3)
    assert float(y_set[0, 0]) == pytest.approx(0.3)
    changing_smiles.main(["--run", str(semi_run), "--images", str(photo), "--set", "-1,1", "--gender", "female"])
    written(semi_run, "forcing/forcing_photos_set_-1_1_gender1.png")


def test_evaluate_reports_q_error_and_gender_control(semi_run, capsys):
    evaluate.main(["--run", str(semi_run)])
    m = json.loads((semi_run / "metrics.json").read_text())
    q = m["smile_inference"]
    assert q["n_heldout"] == 12 and 0 <= q["mae"] <= 2 and q["mae_mean_predictor"] > 0
    assert set(m["gender_control"]) == {"male_smile_-1", "male_smile_+1", "female_smile_-1", "female_smile_+1"}
    assert "q(y|x)" in capsys.readouterr().out


def test_predicted_degrees_are_a_label_file_a_run_reads(semi_run, toy_root, tmp_path):
    images = toy_root / "toy" / "images"
    predict_smiles.main(["--run", str(semi_run), "--images", str(images), "--out", str(tmp_path / "pred.csv")])
    degrees = read_smile_labels(tmp_path / "pred.csv")
    assert len(degrees) == 160 and all(-1 <= d <= 1 for d in degrees.values())


def test_a_1x1_image_is_refused_as_training_refuses_it(semi_run, tiny_run, tmp_path, capsys):
    """predict_smiles.py --images and modify_attribute.py --images: one line naming the file, exit 2."""
    import modify_attribute
    from facegen.cli.args import guard

    (tmp_path / "photos").mkdir()
    Image.new("RGB", (1, 1)).save(tmp_path / "photos" / "dot.png")
    for main, argv in ((predict_smiles.main, ["--run", str(semi_run), "--images", str(tmp_path / "photos"),
                                               "--out", str(tmp_path / "pred.csv")]),
                       (modify_attribute.main, ["--run", str(tiny_run), "--images", str(tmp_path / "photos/dot.png"),
                                                "--attribute", "smile", "--method", "interfacegan"])):
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            guard(lambda main=main, argv=argv: main(argv))
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and len(err) == 1 and "dot.png is 1x1 px" in err[0] and "32 px" in err[0], err
    assert not (tmp_path / "pred.csv").exists()


def test_two_runs_scored_by_the_same_judges(semi_run, tiny_run, tmp_path):
    with pytest.raises(FacegenError, match="run evaluate.py --run"):
        evaluate.main(["--run", str(tiny_run), "--judges", str(tmp_path)])
    evaluate.main(["--run", str(semi_run)])
    evaluate.main(["--run", str(tiny_run), "--judges", str(semi_run)])
    own = json.loads((semi_run / "metrics.json").read_text())
    other = json.loads((tiny_run / "metrics.json").read_text())
    assert other["judges_from"] == str(semi_run)
    assert other["evaluators"] == own["evaluators"]  # the judges' own held-out scores: the same judges


def test_unlabelled_validation_faces_take_the_degree_q_predicts(semi_run):
    run = Run.load(semi_run)
    model = run.load_model()
    x, y, labels = faces_to_edit(model, run, 20, None, None)
    assert len(x) == 20 and sum(label.startswith("q") for label in labels) == 8  # 12 labelled come first
    with torch.no_grad():
        predicted = model.predict_smile(x[12:])
    torch.testing.assert_close(y[12:, 0], predicted)
    _, y_given, labels_given = faces_to_edit(model, run, 20, None, -0.4)
    assert (y_given[12:, 0] == -0.4).all() and not any(label.startswith("q") for label in labels_given)
