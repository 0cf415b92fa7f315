"""The CelebA attribute scripts end to end on a tiny synthetic CelebA-layout folder written by the test:
loading, the attribute net, VAE and DFC-VAE training, attribute vectors, edits, interpolations, SVM
directions, the evaluation table, and one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
         "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
         "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
         "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
         "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
N_FACES = 48
NOBODY = "Wearing_Necktie"  # no synthetic face has it


def write_celeba(root: Path, n: int = N_FACES) -> tuple[Path, Path]:
    """CelebA's layout: img_align_celeba/000001.jpg ... and list_attr_celeba.txt (count, names, rows).
    Smiling draws a bright mouth, Eyeglasses a dark band over the eyes, Male tints the face blue."""
    rng = np.random.default_rng(0)
    images = root / "img_align_celeba"
    images.mkdir(parents=True)
    rows = []
    for i in range(1, n + 1):
        attrs = np.where(rng.random(len(NAMES)) < 0.4, 1, -1)
        attrs[NAMES.index(NOBODY)] = -1
        attrs[NAMES.index("Smiling")] = 1 if i % 2 else -1
        attrs[NAMES.index("Male")] = 1 if (i // 2) % 2 else -1
        img = np.full((48, 40, 3), 0.2) + rng.random(3) * 0.1
        img[8:40, 8:32] = (0.8, 0.6, 0.5) if attrs[NAMES.index("Male")] < 0 else (0.5, 0.6, 0.9)
        if attrs[NAMES.index("Smiling")] > 0:
            img[30:35, 12:28] = 1.0
        if attrs[NAMES.index("Eyeglasses")] > 0:
            img[16:21, 9:31] = 0.0
        Image.fromarray((img * 255).astype(np.uint8)).save(images / f"{i:06d}.jpg", quality=95)
        rows.append(f"{i:06d}.jpg " + " ".join(f"{a:2d}" for a in attrs))
    attrs_file = root / "list_attr_celeba.txt"
    attrs_file.write_text(f"{n}\n" + " ".join(NAMES) + "\n" + "\n".join(rows) + "\n")
    return images, attrs_file


def run_script(name: str, *args: object) -> None:
    """Run a top-level script in this process, as from the command line."""
    argv = sys.argv
    sys.argv = [name, *map(str, args)]
    try:
        runpy.run_path(str(ROOT / name), run_name="__main__")
    finally:
        sys.argv = argv


def fails(capsys, name: str, *args: object) -> str:
    """Run a script that must stop with exit status 2; returns its one-line message."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_script(name, *args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err, err
    return err


@pytest.fixture(scope="session")
def space(tmp_path_factory) -> dict:
    """A synthetic CelebA folder, an attribute net, a pixel VAE and a DFC-VAE trained on it (seconds)."""
    root = tmp_path_factory.mktemp("celeba")
    images, attrs = write_celeba(root)
    data = ["--dataset", "celeba", "--data", images, "--attrs", attrs, "--resize", "32", "--cache_dir",
            root / "cache", "--val_fraction", "0.25"]
    net = root / "feature_net"
    run_script("train_feature_net.py", *data, "--n_epochs", "2", "--batch_size", "16", "--out", net)
    model = ["--latent_size", "6", "--base_channels", "8", "--batch_size", "8", "--eval_every", "2"]
    run_script("vae.py", *data, *model, "--n_epochs", "4", "--lr", "2e-3", "--beta", "0.5", "--out", root / "vae")
    run_script("vae.py", *data, *model, "--n_epochs", "1", "--loss", "perceptual", "--feature_net",
               net / "attribute_net.pt", "--pixel_weight", "1", "--out", root / "dfcvae")
    run_script("attribute_vectors.py", "--run", root / "vae", "--by", "male")
    return {"root": root, "images": images, "attrs": attrs, "data": data, "net": net / "attribute_net.pt",
            "vae": root / "vae", "dfcvae": root / "dfcvae"}


def test_loader_reads_the_layout(space):
    from facegen.data import load_dataset

    faces = load_dataset(dataset="celeba", data=space["images"], labels=None, attrs=space["attrs"], size=32,
                         channels=3, conditions=["smile"], cache_dir=None, num_workers=1, toy_root=None, toy_n=0)
    assert len(faces) == N_FACES and faces.images.shape == (N_FACES, 3, 32, 32)
    assert faces.attr_names == list(NAMES) and faces.meta["attrs"].dtype == torch.int8
    assert faces.meta["attrs"].shape == (N_FACES, 40)
    assert set(faces.meta["attrs"].unique().tolist()) == {-1, 1}
    assert faces.names[0] == "000001.jpg" and faces.meta["attrs"][0, NAMES.index("Smiling")] == 1


def test_feature_net_reports_held_out_accuracy(space):
    metrics = json.loads((space["net"].parent / "metrics.json").read_text())
    assert metrics["n_heldout"] == 12 and 0 <= metrics["mean_accuracy"] <= 1
    assert set(metrics["accuracy"]) == set(NAMES)


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
        assert f["vectors"].shape == (40, 6) and list(f["names"]) == list(NAMES)
        assert f["n_with"][NAMES.index("Smiling")] == N_FACES // 2
        assert f["by_vectors"].shape == (2, 40, 6) and str(f["by"]) == "Male"
    run_script("modify_attribute.py", "--run", run, "--attribute", "smiling", "--without", "3", "--amounts",
               "0:2:0.5")
    run_script("modify_attribute.py", "--run", run, "--attribute", "Eyeglasses", "--with", "2", "--amounts",
               "-2:0:1")
    run_script("modify_attribute.py", "--run", run, "--attribute", "Male", "--images",
               space["images"] / "000001.jpg", space["images"] / "000002.jpg")
    for name in ("add_Smiling.png", "remove_Eyeglasses.png", "add_Male.png"):
        assert (run / "attributes" / name).stat().st_size > 1000


def test_interpolations(space):
    run = space["vae"]
    run_script("interpolate.py", "--run", run, "--ids", "1", "000004", "--steps", "4")
    run_script("interpolate.py", "--run", run, "--images", space["images"] / "000003.jpg",
               space["images"] / "000010.jpg")
    run_script("interpolate.py", "--run", run, "--pairs", "attribute", "--attribute", "Smiling", "--n_pairs", "2")
    for mode in ("same_gender", "different_gender", "random"):
        run_script("interpolate.py", "--run", run, "--pairs", mode, "--n_pairs", "2")
    made = sorted(p.name for p in (run / "interp").glob("*.png"))
    assert made == ["different_gender.png", "files.png", "ids_000001_000004.png", "random.png", "same_gender.png",
                    "with_without_Smiling.png"]


def test_edit_directions_and_evaluation(space):
    run = space["dfcvae"]
    run_script("edit_directions.py", "--run", run, "--attribute", "Smiling", "--fixed", "Male,Eyeglasses",
               "--n", "2")
    out = run / "attributes" / "directions"
    summary = json.loads((out / "Smiling_given_Male_Eyeglasses.json").read_text())
    assert 0 <= summary["accuracy"] <= 1
    with np.load(out / "Smiling_given_Male_Eyeglasses.npz") as f:
        assert np.abs(f["condition_normals"] @ f["normal"]).max() < 1e-8
    assert (out / "Smiling_given_Male_Eyeglasses.png").exists() and (out / "Smiling.npz").exists()
    run_script("evaluate_attributes.py", "--run", run, "--classifier", space["net"], "--attributes",
               "Smiling,Male", "--fixed", "Male,Eyeglasses", "--n", "4", "--amounts", "1")
    rows = json.loads((run / "attributes" / "evaluation.json").read_text())["rows"]
    assert [(r["attribute"], r["method"]) for r in rows] == [
        ("Smiling", "mean difference"), ("Smiling", "SVM"), ("Smiling", "SVM given Male,Eyeglasses"),
        ("Male", "mean difference"), ("Male", "SVM"), ("Male", "SVM given Eyeglasses")]
    assert all(0 <= r["added_after"] <= 1 and r["other_change"] >= 0 for r in rows)


def test_bad_input_is_one_line_and_exit_status_2(space, capsys, tmp_path):
    run, images, attrs = space["vae"], space["images"], space["attrs"]
    data = ["--dataset", "celeba", "--resize", "32", "--cache_dir", tmp_path / "cache"]
    assert "list_attr" in fails(capsys, "train_feature_net.py", *data, "--data", images, "--attrs",
                                tmp_path / "list_attr_celeba.txt", "--out", tmp_path / "net")
    lines = attrs.read_text().splitlines()
    extra = tmp_path / "extra_row.txt"  # lists an image the folder does not hold
    extra.write_text("\n".join([str(N_FACES + 1), *lines[1:], lines[-1].replace(f"{N_FACES:06d}", "000999")]))
    assert "missing" in fails(capsys, "train_feature_net.py", *data, "--data", images, "--attrs", extra, "--out",
                              tmp_path / "net")
    wrong_count = tmp_path / "wrong_count.txt"
    wrong_count.write_text("\n".join([str(N_FACES + 3), *lines[1:]]))
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

    run_script("cvae.py", *space["data"], "--conditions", "Smiling", "--latent_size", "4", "--base_channels", "8",
               "--batch_size", "16", "--n_epochs", "1", "--out", tmp_path / "cvae")
    run = Run.load(tmp_path / "cvae")
    model = run.load_model()
    assert run.cond_names == ["Smiling"] and model.cond_dim == 1
    run_script("attribute_vectors.py", "--run", tmp_path / "cvae")
    run_script("modify_attribute.py", "--run", tmp_path / "cvae", "--attribute", "Eyeglasses", "--without", "2",
               "--amounts", "0:1:1")
    assert (tmp_path / "cvae" / "attributes" / "add_Eyeglasses.png").exists()
