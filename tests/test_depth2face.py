"""Depth-to-face translation: the pairs through DataSpec (split by subject), the img2img models through the one
trainer (learning, bit-exact resume with the replay buffer and unpaired faces), translate.py, the measures of
evaluate_depth2face.py against closed forms and brute force, and one-line refusals of bad input."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import depth2face
import translate
from facegen import plots
from facegen.analysis.evaluation.translation import (
    cycling,
    gaussian_window,
    snapshot_faces,
    ssim,
    two_sample_accuracy,
)
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.data.needs import DataNeeds
from facegen.data.spec import DataSpec, round_robin
from facegen.data.unpaired import load_unpaired
from facegen.models.img2img.translator import snapshot_rows
from facegen.models.registry import build_model
from facegen.runs import LAST, Run
from tests.helpers import run_script, script_refusal, written

TINY_NET = ["--base_channels", "8", "--max_channels", "16"]
TINY_D = ["--d_base_channels", "8", "--d_layers", "2"]


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    """Toy pairs (and their cache) shared by this module's runs."""
    return tmp_path_factory.mktemp("d2f")


def run_args(space: Path, out: str, epochs: int, *extra: str, toy_n: int = 40) -> list[str]:
    return ["--toy_dir", str(space / f"toy{toy_n}"), "--toy_n", str(toy_n), "--resize", "32", "--cache_dir",
            str(space / "cache"), "--n_epochs", str(epochs), "--out", str(space / out), *extra]


# ---- data ------------------------------------------------------------------------------------------------------
def write_pairs(folder: Path, subjects: list[str]) -> None:
    """A pairs.csv folder: pair i is a flat depth map of grey 10 + 5 i and a photo of that red."""
    (folder / "depth").mkdir(parents=True)
    (folder / "photo").mkdir()
    with (folder / "pairs.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample", "subject", "photo", "depth"])
        for i, s in enumerate(subjects):
            Image.new("L", (40, 40), 10 + 5 * i).save(folder / "depth" / f"p{i}.png")
            Image.new("RGB", (40, 40), (10 + 5 * i, 0, 0)).save(folder / "photo" / f"p{i}.png")
            w.writerow([f"p{i}", s, f"photo/p{i}.png", f"depth/p{i}.png"])


def test_pairs_split_by_subject_with_a_round_robin_held_out_order_and_paired_count(tmp_path):
    subjects = [f"s{i % 9}" for i in range(40)]
    write_pairs(tmp_path / "pairs", subjects)
    spec = DataSpec(needs=DataNeeds(pairs=True), pairs=tmp_path / "pairs", size=32, cache_dir=tmp_path / "cache",
                    val_fraction=0.34, seed=3, paired_count=5)
    train, val = spec.split(spec.load())
    assert len(train) + len(val) == 40 and train.sources is not None and val.sources is not None
    assert not set(train.meta["subject"].tolist()) & set(val.meta["subject"].tolist())
    assert int(train.labelled.sum()) == 5 and bool(val.labelled.all())
    # each pair still holds its own depth map and photo (the red of the photo is the grey of the depth)
    assert torch.equal(train.images[:, 0, 0, 0], train.sources[:, 0, 0, 0])
    held = val.meta["subject"].tolist()
    n_subjects = len(set(held))
    assert len(set(held[:n_subjects])) == n_subjects  # the first pairs show every held-out subject once
    again = DataSpec.from_dict(spec.to_dict(), spec.needs)  # what Run.faces() does with flags.json
    train2, val2 = again.split(again.load())
    assert train2.names == train.names and val2.names == val.names and torch.equal(train2.labelled, train.labelled)
    assert int(DataSpec(**{**spec.__dict__, "paired_count": 1000}).split(spec.load())[0].labelled.sum()) == len(train)


def test_round_robin_order_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        groups = torch.as_tensor(rng.integers(0, 6, size=int(rng.integers(1, 30))))
        order = round_robin(groups).tolist()
        expected, seen = [], {}
        for i, g in enumerate(groups.tolist()):
            seen.setdefault(g, []).append(i)
        for rank in range(len(groups)):
            expected += [seen[g][rank] for g in sorted(seen) if rank < len(seen[g])]
        assert order == expected


def test_unpaired_folders_are_found_inside_known_datasets(tmp_path):
    (tmp_path / "lfw" / "lfwcrop_color_64").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (64, 64), (i, 2 * i, 3)).save(tmp_path / "lfw" / "lfwcrop_color_64" / f"A_{i:04d}.jpg")
    faces = load_unpaired(str(tmp_path / "lfw"), size=32, channels=3, cache_dir=None)
    assert faces.images.shape == (3, 3, 32, 32) and not faces.labelled.any()
    with pytest.raises(FacegenError, match="no such folder"):
        load_unpaired(str(tmp_path / "none"), size=32, channels=3, cache_dir=None)


# ---- training through the one trainer ---------------------------------------------------------------------------
@pytest.mark.slow  # 255 steps
def test_supervised_training_on_toy_pairs_lowers_held_out_l1(space):
    """255 steps on 270 toy pairs: the held-out L1 falls and beats the mean training face (the best a model
    blind to the depth map can do in L2; the toy faces' random colours keep every model well above 0)."""
    depth2face.main(["--mode", "supervised", *run_args(space, "sup", 15, "--lr", "2e-3", "--eval_every", "5",
                                                       "--base_channels", "16", "--max_channels", "64", toy_n=300)])
    out = space / "sup"
    rows = list(csv.DictReader((out / "training.csv").open()))
    first, last = float(rows[0]["val_l1"]), float(rows[-1]["val_l1"])
    run = Run.load(out)
    train, val = run.faces()
    steps = 15 * (len(train) // 16 + (len(train) % 16 >= 2))
    mean_face = train.images.float().mean(0) / 255
    baseline = float((val.images.float() / 255 - mean_face).abs().mean())
    assert steps <= 300 and last < 0.92 * first and last < 0.97 * baseline, (first, last, baseline)
    assert run.model_name == "d2f_supervised" and run.data.needs.pairs and run.dataset["n_train_targets"] == len(train)
    grid = out / "iterations" / "iter_15.png"
    written(out, "iterations/iter_15.png", "training.gif")
    faces = snapshot_faces(grid, 32)  # the generated rows read back from the grid: the model's own faces
    model = run.load_model()
    with torch.no_grad():
        torch.manual_seed(0)
        made = model.translate(val.sources[:len(faces)].float() / 255)
    assert (faces[:len(made)] - made).abs().max() <= 1 / 255 + 1e-6


def test_resume_is_bit_exact_with_replay_unpaired_faces_and_mixed_batches(space):
    """Stopped after epoch 2 (not a validation epoch of the straight run, eval_every 3), resumed to 3."""
    flags = ["--mode", "semi", "--paired_count", "12", "--unpaired", "toy", "--replay", "6",
             "--feature_matching", "0.5", "--eval_every", "3", *TINY_NET, *TINY_D]
    depth2face.main([*flags, *run_args(space, "straight", 3)])
    depth2face.main([*flags, *run_args(space, "stopped", 2)])
    depth2face.main(["--resume", *run_args(space, "stopped", 3)])
    a, b = load_checkpoint(space / "straight" / LAST), load_checkpoint(space / "stopped" / LAST)
    replay = a["model"]["_extra_state"]["replay"]
    assert len(replay["images"]) == 6 and replay["images"].shape[1:] == (3, 32, 32)
    for key in a["model"]:
        if key != "_extra_state":
            torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    torch.testing.assert_close(replay["images"], b["model"]["_extra_state"]["replay"]["images"], rtol=0, atol=0)
    assert torch.equal(replay["rng"], b["model"]["_extra_state"]["replay"]["rng"])
    for name in ("gen", "disc"):
        assert str(a["optimizers"][name]["state"]) == str(b["optimizers"][name]["state"])
    assert [r["train_g_loss"] for r in a["history"]] == [r["train_g_loss"] for r in b["history"]]
    run = Run.load(space / "stopped")
    assert run.model_name == "d2f_semi" and run.dataset["n_train_targets"] == 12 and run.dataset["n_unpaired"] == 40


@pytest.mark.parametrize("mode,extra", [("gan", ["--loss", "wgan-gp"]), ("pix2pix", ["--upsample", "pixelshuffle"]),
                                        ("cycle", ["--loss", "lsgan"])])
def test_every_adversarial_mode_trains_one_epoch(space, mode, extra):
    depth2face.main(["--mode", mode, *extra, *TINY_NET, *TINY_D, *run_args(space, mode, 1)])
    rows = list(csv.DictReader((space / mode / "training.csv").open()))
    assert np.isfinite(float(rows[0]["train_g_loss"])) and np.isfinite(float(rows[0]["val_l1"]))
    assert ("train_gp" in rows[0]) == (mode == "gan") and ("train_cycle" in rows[0]) == (mode == "cycle")


def test_configs_refuse_what_cannot_work():
    with pytest.raises(FacegenError, match="wgan-gp"):
        build_model("d2f_gan", {"size": 32, "adv_loss": "wgan-gp", "d_norm": "batch"}).cfg.check()
    for name, cfg in (("d2f_gan", {"d_layers": 4}), ("d2f_supervised", {"levels": 6})):
        model_cfg = build_model(name, {"size": 32, **cfg}).cfg
        with pytest.raises(FacegenError) as e:
            model_cfg.check()
        assert "\n" not in str(e.value)


# ---- translate.py and bad input ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def translator(space) -> Path:
    """A supervised run trained one epoch with tiny networks: the run translate.py reads in these tests."""
    depth2face.main(["--mode", "supervised", *run_args(space, "translator", 1, *TINY_NET, toy_n=300)])
    return space / "translator"


def test_translate_writes_one_face_per_depth_map(space, translator, tmp_path):
    depth_dir = tmp_path / "depth"
    depth_dir.mkdir()
    names = sorted((space / "toy300" / "depth").iterdir())[:3]
    for i, p in enumerate(names):
        Image.open(p).resize((40 + 10 * i, 40 + 10 * i)).save(depth_dir / f"d{i}{'.jpg' if i else '.png'}")
    translate.main(["--run", str(translator), "--images", str(depth_dir), "--out", str(tmp_path / "faces")])
    made = sorted((tmp_path / "faces").iterdir())
    assert [p.name for p in made] == ["d0.png", "d1.png", "d2.png"]
    assert all(Image.open(p).size == (32, 32) and Image.open(p).mode == "RGB" for p in made)


def test_translate_takes_one_image_and_never_writes_over_its_inputs(space, translator, tmp_path):
    """--images FILE is one depth map; an empty folder names --images (not --data); --out the inputs' own folder
    with the same names is refused before anything is written."""
    depth_dir = tmp_path / "depth"
    depth_dir.mkdir()
    shutil.copy(sorted((space / "toy300" / "depth").iterdir())[0], depth_dir / "d0.png")
    translate.main(["--run", str(translator), "--images", str(depth_dir / "d0.png"), "--out", str(tmp_path / "o")])
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["d0.png"]
    before = (depth_dir / "d0.png").read_bytes()
    with pytest.raises(FacegenError, match="written over their inputs"):
        translate.main(["--run", str(translator), "--images", str(depth_dir), "--out", str(depth_dir)])
    assert (depth_dir / "d0.png").read_bytes() == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(FacegenError, match="pass --images a folder of depth maps"):
        translate.main(["--run", str(translator), "--images", str(tmp_path / "empty"), "--out", str(tmp_path)])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FacegenError, match="is not an image"):
        translate.main(["--run", str(translator), "--images", str(tmp_path / "notes.txt"), "--out", str(tmp_path)])


def test_bad_inputs_give_one_line_and_exit_2(translator, tmp_path):
    photo = tmp_path / "photo_as_depth"
    photo.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(photo / "me.jpg")
    line = script_refusal(run_script("translate.py", "--run", translator, "--images", photo, "--out", tmp_path / "o"))
    assert "colour image" in line and "me.jpg" in line
    pairs = tmp_path / "pairs"
    for folder, stems in (("depth", "ab"), ("photo", "ac")):
        (pairs / folder).mkdir(parents=True)
        for s in stems:
            Image.new("L" if folder == "depth" else "RGB", (40, 40)).save(pairs / folder / f"{s}.png")
    line = script_refusal(run_script("depth2face.py", "--pairs", pairs, "--cache_dir", tmp_path / "c", "--out",
                                     tmp_path / "run"))
    assert "do not pair up" in line


# ---- the measures ---------------------------------------------------------------------------------------------
def brute_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two single-channel images, window by window, straight from the definition."""
    w = gaussian_window().numpy()
    k = w.shape[0]
    values = []
    for i in range(x.shape[0] - k + 1):
        for j in range(x.shape[1] - k + 1):
            a, b = x[i:i + k, j:j + k], y[i:i + k, j:j + k]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            values.append((2 * ma * mb + 1e-4) * (2 * cov + 9e-4) / ((ma**2 + mb**2 + 1e-4) * (va + vb + 9e-4)))
    return float(np.mean(values))


def test_ssim_against_the_definition_and_closed_forms():
    rng = np.random.default_rng(1)
    x, y = rng.random((2, 14, 15)), rng.random((2, 14, 15))
    got = ssim(torch.tensor(x)[:, None], torch.tensor(y)[:, None])
    assert np.allclose(got.numpy(), [brute_ssim(x[i], y[i]) for i in range(2)], atol=1e-6)
    assert torch.allclose(ssim(torch.tensor(x)[:, None], torch.tensor(x)[:, None]), torch.ones(2))
    a, b = torch.full((1, 3, 12, 12), 0.2), torch.full((1, 3, 12, 12), 0.6)  # constants: the luminance term alone
    assert torch.allclose(ssim(a, b), torch.tensor([(2 * 0.12 + 1e-4) / (0.04 + 0.36 + 1e-4)]))


def test_two_sample_accuracy():
    rng = np.random.default_rng(3)
    same = two_sample_accuracy(rng.normal(size=(60, 4)), rng.normal(size=(60, 4)))
    apart = two_sample_accuracy(rng.normal(size=(60, 4)), rng.normal(size=(60, 4)) + 3)
    assert same < 0.7 and apart > 0.95


def test_snapshot_grid_round_trip_and_cycling(tmp_path):
    torch.manual_seed(0)
    source, target = torch.rand(10, 1, 32, 32), torch.rand(10, 3, 32, 32)
    made = [torch.rand(10, 3, 32, 32) for _ in range(4)]
    for epoch, m in zip((1, 2, 4, 6), made, strict=True):
        plots.save_grid(snapshot_rows(source, m, target), tmp_path / "iterations" / f"iter_{epoch}.png")
    back = snapshot_faces(tmp_path / "iterations" / "iter_6.png", 32)
    assert back.shape == (16, 3, 32, 32) and (back[:10] - made[3]).abs().max() <= 0.5 / 255 + 1e-6
    assert torch.equal(back[10:], torch.ones(6, 3, 32, 32))  # the padding of the short second block
    result = cycling(tmp_path, 32)
    expected = [float((made[i + 1] - made[i]).abs().sum() / (16 * 3 * 32 * 32)) for i in range(3)]
    assert result["epochs"] == [2, 4, 6] and np.allclose(result["change"], expected, atol=2e-3)
    assert np.isclose(result["second_half"], np.mean(expected[1:]), atol=2e-3)
    with pytest.raises(FacegenError, match="not a 30 px"):
        snapshot_faces(tmp_path / "iterations" / "iter_6.png", 30)
