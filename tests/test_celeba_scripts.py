"""The CelebA attribute scripts end to end on a tiny synthetic CelebA-layout folder written by the test:
loading, the attribute net, VAE and DFC-VAE training, attribute vectors, edits, interpolations, SVM
directions, the evaluation table, and one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.fakes import CELEBA_ATTRIBUTES, CELEBA_N, NOBODY, write_celeba
from tests.helpers import refusal, run_in_process, written


def fails(capsys, name: str, *args: object) -> str:
    """Run a script that must stop with exit status 2; returns its one-line message."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_in_process(name, *args)
    return refusal(e.value.code, capsys.readouterr().err)


@pytest.fixture(scope="session")
def space(tmp_path_factory) -> dict:
    """A synthetic CelebA folder, an attribute net, a pixel VAE and a DFC-VAE trained on it (seconds)."""
    root = tmp_path_factory.mktemp("celeba")
    images, attrs = write_celeba(root)
    data = ["--dataset", "celeba", "--data", images, "--attrs", attrs, "--resize", "32", "--cache_dir",
            root / "cache", "--val_fraction", "0.25"]
    net = root / "feature_net"
    run_in_process("train_feature_net.py", *data, "--n_epochs", "2", "--batch_size", "16", "--out", net)
    model = ["--latent_size", "6", "--base_channels", "8", "--batch_size", "8", "--eval_every", "2"]
    run_in_process("vae.py", *data, *model, "--n_epochs", "4", "--lr", "2e-3", "--beta", "0.5", "--out", root / "vae")
    run_in_process("vae.py", *data, *model, "--n_epochs", "1", "--loss", "perceptual", "--feature_net",
                   net / "attribute_net.pt", "--pixel_weight", "1", "--out", root / "dfcvae")
    run_in_process("attribute_vectors.py", "--run", root / "vae", "--by", "male")
    return {"root": root, "images": images, "attrs": attrs, "data": data, "net": net / "attribute_net.pt",
            "vae": root / "vae", "dfcvae": root / "dfcvae"}


def test_loader_reads_the_layout(space):
    from facegen.data import load_dataset

    faces = load_dataset(dataset="celeba", data=space["images"], labels=None, attrs=space["attrs"], size=32,
                         channels=3, conditions=["smile"], cache_dir=None, num_workers=1, toy_root=None, toy_n=0)
    assert len(faces) == CELEBA_N and faces.images.shape == (CELEBA_N, 3, 32, 32)
    assert faces.attr_names == list(CELEBA_ATTRIBUTES) and faces.meta["attrs"].dtype == torch.int8
    assert faces.meta["attrs"].shape == (CELEBA_N, 40)
    assert set(faces.meta["attrs"].unique().tolist()) == {-1, 1}
    assert faces.names[0] == "000001.jpg" and faces.meta["attrs"][0, CELEBA_ATTRIBUTES.index("Smiling")] == 1


def test_feature_net_reports_held_out_accuracy(space):
    """metrics.json counts, per attribute, the held-out faces the saved net gets right and those the training
    majority gets right; an attribute nobody has is always right."""
    from facegen.nn.attrnet import predict_probs
    from facegen.runs import Run

    metrics = json.loads((space["net"].parent / "metrics.json").read_text())
    run = Run.load(space["net"].parent)
    train, val = run.faces()
    assert (metrics["n_train"], metrics["n_heldout"]) == (len(train), len(val)) == (36, 12)
    truth = val.cond > 0
    right = ((predict_probs(run.load_model("cpu").net, val.images) > 0.5) == truth).sum(0)
    majority_right = (truth == ((train.cond > 0).sum(0) * 2 > len(train))).sum(0)
    assert [round(metrics["accuracy"][a] * 12) for a in CELEBA_ATTRIBUTES] == right.tolist()
    assert [round(metrics["majority_accuracy"][a] * 12) for a in CELEBA_ATTRIBUTES] == majority_right.tolist()
    assert metrics["accuracy"][NOBODY] == metrics["majority_accuracy"][NOBODY] == 1.0
    assert metrics["mean_accuracy"] == pytest.approx(right.float().mean().item() / 12)


def test_dfcvae_run_records_its_feature_net(space):
    from facegen.runs import Run

    run = Run.load(space["dfcvae"])
    model = run.load_model()
    assert run.model_name == "dfcvae" and type(model).__name__ == "DFCVAE"
    assert run.model_config["feature_net"] == str(space["net"])
    assert run.model_config["pixel_weight"] == 1.0


def test_attribute_vectors_and_edits(space):
    run = space["vae"]
    with np.load(run / "attributes" / "attribute_vectors.npz") as f:
        assert f["vectors"].shape == (40, 6) and list(f["names"]) == list(CELEBA_ATTRIBUTES)
        assert f["n_with"][CELEBA_ATTRIBUTES.index("Smiling")] == CELEBA_N // 2
        assert f["by_vectors"].shape == (2, 40, 6) and str(f["by"]) == "Male"
    run_in_process("modify_attribute.py", "--run", run, "--attribute", "smiling", "--without", "3", "--amounts",
                   "0:2:0.5")
    run_in_process("modify_attribute.py", "--run", run, "--attribute", "Eyeglasses", "--with", "2", "--amounts",
                   "-2:0:1")
    run_in_process("modify_attribute.py", "--run", run, "--attribute", "Male", "--images",
                   space["images"] / "000001.jpg", space["images"] / "000002.jpg")
    written(run / "attributes", "add_Smiling.png", "remove_Eyeglasses.png", "add_Male.png")


def test_interpolations(space):
    run = space["vae"]
    run_in_process("interpolate.py", "--run", run, "--ids", "1", "000004", "--steps", "4")
    run_in_process("interpolate.py", "--run", run, "--images", space["images"] / "000003.jpg",
                   space["images"] / "000010.jpg")
    run_in_process("interpolate.py", "--run", run, "--pairs", "attribute", "--attribute", "Smiling", "--n_pairs", "2")
    for mode in ("same_gender", "different_gender", "random"):
        run_in_process("interpolate.py", "--run", run, "--pairs", mode, "--n_pairs", "2")
    made = sorted(p.name for p in (run / "interp").glob("*.png"))
    assert made == ["different_gender.png", "files.png", "ids_000001_000004.png", "random.png", "same_gender.png",
                    "with_without_Smiling.png"]
    written(run / "interp", *made)


def test_edit_directions_and_evaluation(space):
    run = space["dfcvae"]
    run_in_process("edit_directions.py", "--run", run, "--attribute", "Smiling", "--fixed", "Male,Eyeglasses",
                   "--n", "2")
    out = run / "attributes" / "directions"
    summary = json.loads((out / "Smiling_given_Male_Eyeglasses.json").read_text())
    assert summary["n_train"] + summary["n_test"] == CELEBA_N  # accuracy: a share of the n_test held-out faces
    assert summary["accuracy"] * summary["n_test"] == pytest.approx(round(summary["accuracy"] * summary["n_test"]))
    with np.load(out / "Smiling_given_Male_Eyeglasses.npz") as f:
        assert np.abs(f["condition_normals"] @ f["normal"]).max() < 1e-8
    written(out, "Smiling_given_Male_Eyeglasses.png")
    assert (out / "Smiling.npz").exists()
    run_in_process("evaluate_attributes.py", "--run", run, "--classifier", space["net"], "--attributes",
                   "Smiling,Male", "--fixed", "Male,Eyeglasses", "--n", "4", "--amounts", "0,1")
    rows = json.loads((run / "attributes" / "evaluation.json").read_text())["rows"]
    assert [(r["attribute"], r["method"], r["amount"]) for r in rows] == [
        (a, m, amount) for a, methods in (("Smiling", ("mean difference", "SVM", "SVM given Male,Eyeglasses")),
                                          ("Male", ("mean difference", "SVM", "SVM given Eyeglasses")))
        for m in methods for amount in (0.0, 1.0)]
    for r in rows:  # an edit of amount 0 is no edit: the judged reconstruction before is the one after
        if r["amount"] == 0:
            assert (r["added_after"], r["removed_after"]) == (r["added_before"], r["removed_before"]), r
            assert r["target_change"] == r["other_change"] == r["other_flips"] == r["condition_change"] == 0, r
        assert (r["cosine_to_mean_difference"] == pytest.approx(1.0)) == (r["method"] == "mean difference"), r


def test_bad_input_is_one_line_and_exit_status_2(space, capsys, tmp_path):
    run, images, attrs = space["vae"], space["images"], space["attrs"]
    data = ["--dataset", "celeba", "--resize", "32", "--cache_dir", tmp_path / "cache"]
    assert "list_attr" in fails(capsys, "train_feature_net.py", *data, "--data", images, "--attrs",
                                tmp_path / "list_attr_celeba.txt", "--out", tmp_path / "net")
    lines = attrs.read_text().splitlines()
    extra = tmp_path / "extra_row.txt"  # lists an image the folder does not hold
    extra.write_text("\n".join([str(CELEBA_N + 1), *lines[1:], lines[-1].replace(f"{CELEBA_N:06d}", "000999")]))
    assert "missing" in fails(capsys, "train_feature_net.py", *data, "--data", images, "--attrs", extra, "--out",
                              tmp_path / "net")
    wrong_count = tmp_path / "wrong_count.txt"
    wrong_count.write_text("\n".join([str(CELEBA_N + 3), *lines[1:]]))
    assert "rows follow" in fails(capsys, "vae.py", *data, "--data", images, "--attrs", wrong_count, "--out",
                                  tmp_path / "vae")
    assert "Smilng" in fails(capsys, "modify_attribute.py", "--run", run, "--attribute", "Smilng")
    assert NOBODY in fails(capsys, "modify_attribute.py", "--run", run, "--attribute", NOBODY)
    assert NOBODY in fails(capsys, "edit_directions.py", "--run", run, "--attribute", NOBODY)
    assert "exactly two" in fails(capsys, "interpolate.py", "--run", run, "--ids", "1")
    assert "not found" in fails(capsys, "evaluate_attributes.py", "--run", run, "--classifier",
                                tmp_path / "missing.pt")


def test_cvae_conditions_on_an_attribute(space, tmp_path):
    from facegen.runs import Run

    run_in_process("cvae.py", *space["data"], "--conditions", "Smiling", "--latent_size", "4", "--base_channels", "8",
                   "--batch_size", "16", "--n_epochs", "1", "--out", tmp_path / "cvae")
    run = Run.load(tmp_path / "cvae")
    model = run.load_model()
    assert run.cond_names == ["Smiling"] and model.cond_dim == 1
    run_in_process("attribute_vectors.py", "--run", tmp_path / "cvae")
    run_in_process("modify_attribute.py", "--run", tmp_path / "cvae", "--attribute", "Eyeglasses", "--without", "2",
                   "--amounts", "0:1:1")
    written(tmp_path / "cvae" / "attributes", "add_Eyeglasses.png")
