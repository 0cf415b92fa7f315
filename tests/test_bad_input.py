"""Bad input to every script, one parametrised case per kind of mistake and script family (issue 16).

Every refused case asserts: exit status 2, exactly one line on stderr (progress-bar lines aside) that names the
flag or file, no traceback, and an existing run folder byte for byte as it was (its tree hashed before and
after). The scripts run in this process through ``guard(main)``, exactly as ``python SCRIPT.py`` runs them;
they share the session's tiny trained CVAE run. Cases that are handled rather than refused (a read-only image
cache, a missing output folder, a rater's repeated answer, text files in Windows encodings) assert that they
work and say so in at most one line. The fault test races two training processes for one --out.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from facegen.cli.args import guard
from facegen.core import lock
from facegen.data.cache import decode_images
from facegen.data.photos import load_photos
from facegen.train.trainer import Trainer
from tests.fakes import write_celeba
from tests.helpers import ROOT, call, message_lines, refusal


# ---- helpers ------------------------------------------------------------------------------------------------
def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (relative path -> sha256 of the bytes, or "dir")."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*"))}


def refused(script: str, argv: list, capsys, *needles: str, unchanged: Path | None = None) -> str:
    """The script exits 2 with one line naming each of ``needles``; ``unchanged`` is byte for byte as before."""
    before = tree(unchanged) if unchanged is not None else None
    code, _, err = call(script, argv, capsys)
    line = refusal(code, err, *needles)
    if unchanged is not None:
        assert tree(unchanged) == before, "the run folder changed"
    return line


def toy(root: Path, model: bool = True) -> list:
    """Flags of a seconds-long training on the session's toy faces (cached by tiny_run); ``model``: with the VAE
    family's size flags."""
    return ["--dataset", "toy", "--toy_dir", root / "toy", "--toy_n", "160", "--resize", "32", "--cache_dir",
            root / "cache", "--batch_size", "16", "--n_epochs", "1",
            *(["--latent_size", "4", "--base_channels", "8"] if model else [])]


def png(path: Path, width: int, height: int, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (width, height), 128).save(path)
    return path


def write_lock(folder: Path, pid: int) -> None:
    """The lock file a live writer with ``pid`` on this machine would hold."""
    holder = {"pid": pid, "host": socket.gethostname(), "started": "2026-01-01 00:00:00",
              "boot_id": lock._boot_id(), "proc_start": lock._proc_start(pid)}
    lock.lock_path(folder).write_text(json.dumps(holder) + "\n")


@pytest.fixture(scope="module")
def live_pid():
    """A process that stays alive during the module: the owner of the fake locks."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def locked_run(tiny_run, tmp_path_factory, live_pid) -> Path:
    """A copy of the tiny run that another (live) process is writing."""
    run = tmp_path_factory.mktemp("locked") / "run"
    shutil.copytree(tiny_run, run)
    write_lock(run, live_pid)
    return run


@pytest.fixture()
def no_figures(monkeypatch):
    """The end-of-run figures play no part in what these tests check: skipped, to keep them fast."""
    monkeypatch.setattr(Trainer, "write_figures", lambda self: None)


@pytest.fixture()
def read_only(monkeypatch):
    """``make(folder)`` makes a folder read-only for this process. Root writes anywhere, so when the tests run as
    root os.access answers for the permission bits as it would for an ordinary user."""
    made: list[Path] = []
    if os.geteuid() == 0:
        real = os.access

        def access(path, mode, *args, **kwargs):
            p = Path(path).absolute()
            if mode & os.W_OK and any(p == f or f in p.parents for f in made):
                return False
            return real(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)

    def make(folder: Path) -> Path:
        folder.chmod(0o555)
        made.append(Path(folder).absolute())
        return folder

    yield make
    for folder in made:
        folder.chmod(0o755)


# ---- 3. every number a user types is checked ---------------------------------------------------------------
TRAIN_FLAGS = [
    ("ae", ["--batch_size", "0"], "--batch_size"),
    ("ae", ["--n_epochs", "0"], "--n_epochs"),
    ("ae", ["--latent_size", "0"], "--latent_size"),
    ("ae", ["--base_channels", "0"], "--base_channels"),
    ("ae", ["--max_channels", "-8"], "--max_channels"),
    ("ae", ["--toy_n", "-1"], "--toy_n"),
    ("vae", ["--eval_every", "0"], "--eval_every"),
    ("vae", ["--lr_step", "0"], "--lr_step"),
    ("vae", ["--beta", "nan"], "--beta"),
    ("vae", ["--beta", "-1"], "--beta"),
    ("vae", ["--num_workers", "-2"], "--num_workers"),
    ("vae", ["--loss", "perceptual", "--pixel_weight", "-1"], "--pixel_weight"),
    ("vae", ["--loss", "perceptual", "--feature_weights", "1,-1"], "--feature_weights"),
    ("cvae", ["--lr", "-1"], "--lr"),
    ("cvae", ["--lr", "nan"], "--lr"),
    ("cvae", ["--lr", "-inf"], "--lr"),  # the widened negative-number matcher lets -inf reach the type
    ("cvae", ["--lr=0"], "--lr"),
    ("cvae", ["--lr_gamma", "0"], "--lr_gamma"),
    ("cvae", ["--lr_gamma", "1.5"], "--lr_gamma"),
    ("cvae", ["--clip_grad", "-1"], "--clip_grad"),
    ("cvae", ["--save_every", "-1"], "--save_every"),
    ("cvae", ["--val_fraction", "1"], "--val_fraction"),
    ("cvae", ["--val_fraction", "0"], "--val_fraction"),
    ("cvae", ["--device", "tpu"], "--device"),
    ("cvae", ["--seed", "-1"], "--seed"),
    ("cvae", ["--resize", "16"], "--resize"),
    ("cvae", ["--batch_size", "2.5"], "--batch_size"),
    ("cvae", ["--conditions", "gender,smile"], "--conditions"),  # smile must come first
    ("cvae", ["--unlabeled", "UNLABELED", "--max_unlabeled", "-1"], "--max_unlabeled"),
    ("cvae", ["--unlabeled", "UNLABELED", "--labeled_fraction", "1"], "--labeled_fraction"),
    ("cvae", ["--unlabeled", "UNLABELED", "--label_weight", "-5"], "--label_weight"),
    ("train", ["--model", "vae", "--latent_size", "-3"], "--latent_size"),
    ("train", ["--model", "cvae", "--n_epochs", "-inf"], "--n_epochs"),
    ("train", ["--model", "vaegan", "--gamma", "nan"], "--gamma"),  # a model's float option without its own type
    ("train", ["--model", "vaegan", "--pixel_weight", "-1"], "--pixel_weight"),
    ("train", ["--model", "dcgan", "--gp_weight", "inf"], "--gp_weight"),
    ("train_feature_net", ["--n_epochs", "0"], "--n_epochs"),
    ("train_feature_net", ["--batch_size", "-1"], "--batch_size"),
]


@pytest.mark.parametrize(("script", "flags", "needle"), TRAIN_FLAGS,
                         ids=[f"{s}{' '.join(f)}" for s, f, _ in TRAIN_FLAGS])
def test_training_flags_are_checked_before_the_run_is_touched(script, flags, needle, toy_root, tiny_run, capsys):
    """With --overwrite onto an existing run: refused, and the run is untouched."""
    flags = [str(toy_root / "toy" / "images") if f == "UNLABELED" else f for f in flags]
    refused(script, [*toy(toy_root), *flags, "--out", tiny_run, "--overwrite"], capsys, needle, unchanged=tiny_run)


RUN_SCRIPT_FLAGS = [
    ("sample_prior", ["--degree", "nan"], "--degree"),
    ("sample_prior", ["--degree", "1e9"], "--degree"),
    ("sample_prior", ["--degree", "-inf"], "--degree"),
    ("sample_prior", ["--degree", "1.5"], "--degree"),
    ("sample_prior", ["--temperature", "nan"], "--temperature"),
    ("sample_prior", ["--temperature", "0"], "--temperature"),
    ("sample_prior", ["--temperature", "1e9"], "--temperature"),
    ("sample_prior", ["--n", "0"], "--n"),
    ("sample_prior", ["--degrees", "1e9"], "--degrees"),
    ("sample_prior", ["--degrees", "-3.5,0"], "--degrees"),
    ("sample_prior", ["--degrees", "0.5,lots"], "--degrees"),
    ("sample_prior", ["--temperatures", "0.5:1e9:1"], "--temperatures"),
    ("sample_prior", ["--temperatures", "0:2:0"], "--temperatures"),
    ("sample_prior", ["--gender", "2"], "--gender"),
    ("sample_prior", ["--gender", "nan"], "--gender"),
    ("sample_prior", ["--age", "-1"], "--age"),
    ("sample_prior", ["--age", "inf"], "--age"),
    ("sample_prior", ["--seed", "1e3"], "--seed"),
    ("changing_smiles", ["--shifts=1e9"], "--shifts"),
    ("changing_smiles", ["--shifts", "nan"], "--shifts"),
    ("changing_smiles", ["--shifts", "-inf,0.5"], "--shifts"),
    ("changing_smiles", ["--set", "2"], "--set"),
    ("changing_smiles", ["--own_degree", "nan"], "--own_degree"),
    ("changing_smiles", ["--own_degree", "-1e9"], "--own_degree"),
    ("changing_smiles", ["--n", "0"], "--n"),
    ("changing_smiles", ["--face", "-1"], "--face"),
    ("changing_smiles", ["--face", "10"], "--face"),  # only 10 faces: refused once the run is open
    ("sample_across_axis", ["--axis", "0", "--steps", "1"], "--steps"),
    ("sample_across_axis", ["--axis", "0", "--range=-1e9:1e9"], "--range"),
    ("sample_across_axis", ["--axis", "0", "--degree", "inf"], "--degree"),
    ("sample_across_axis", ["--axis", "cond", "--n", "0"], "--n"),
    ("sample_across_axis", ["--axis", "cond", "--range=-5:5"], "--range"),
    ("sample_across_axis", ["--axis", "-1"], "axis -1"),
    ("sample_across_pca_axis", ["--steps", "0"], "--steps"),
    ("sample_across_pca_axis", ["--range", "3:-3"], "--range"),
    ("sample_across_pca_axis", ["--degree", "nan"], "--degree"),
    ("latent_analysis", ["--pair", "-1", "0"], "--pair"),
    ("latent_analysis", ["--pair", "0", "999"], "--pair"),
    ("latent_analysis", ["--n_pairs", "0"], "--n_pairs"),
    ("latent_analysis", ["--steps", "1"], "--steps"),
    ("evaluate", ["--device", "banana"], "--device"),
    ("predict_smiles", ["--heldout", "--seed", "-1"], "--seed"),
    ("attribute_vectors", ["--seed", "nan"], "--seed"),
    ("modify_attribute", ["--attribute", "Smiling", "--without", "-1"], "--without"),
    ("modify_attribute", ["--attribute", "Smiling", "--with", "0"], "--with"),
    ("modify_attribute", ["--attribute", "Smiling", "--amounts", "0:1e9:1"], "--amounts"),
    ("interpolate", ["--steps", "1"], "--steps"),
    ("interpolate", ["--n_pairs", "0"], "--n_pairs"),
    ("edit_directions", ["--attribute", "Smiling", "--n", "0"], "--n"),
    ("edit_directions", ["--attribute", "Smiling", "--amounts", "nan:1:1"], "--amounts"),
    ("evaluate_attributes", ["--n", "0"], "--n"),
    ("evaluate_attributes", ["--amounts", "-1"], "--amounts"),
]


@pytest.mark.parametrize(("script", "flags", "needle"), RUN_SCRIPT_FLAGS,
                         ids=[f"{s}{' '.join(f)}" for s, f, _ in RUN_SCRIPT_FLAGS])
def test_exploration_flags_are_checked(script, flags, needle, tiny_run, capsys):
    refused(script, ["--run", tiny_run, *flags], capsys, needle, unchanged=tiny_run)


@pytest.mark.parametrize(("flags", "needle"), [(["--n", "0"], "--n"), (["--seed", "-1"], "--seed")])
def test_labelling_flags_are_checked(flags, needle, tmp_path, capsys):
    refused("label_smiles", ["--images", tmp_path, "--rater", "ann", *flags], capsys, needle)


def test_extrapolation_is_allowed_where_meant_and_said_in_one_line(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    code, _, err = call("sample_prior", ["--run", run, "--degrees", "-3,0,1.5", "--n", "2"], capsys)
    assert code == 0 and message_lines(err) == [
        "note: --degrees -3, 1.5 lies outside the training degrees [-1, +1]: the model extrapolates there"]


# ---- 1. the run folder is protected ------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["ae", "vae", "cvae", "train", "train_feature_net"])
def test_an_existing_run_needs_resume_or_overwrite(script, toy_root, tiny_run, capsys):
    model = ["--model", "cvae"] if script == "train" else []
    flags = toy(toy_root, model=script != "train_feature_net")
    refused(script, [*model, *flags, "--out", tiny_run], capsys, "already holds a run", "--overwrite",
            unchanged=tiny_run)


@pytest.mark.parametrize("flags", [["--overwrite"], ["--resume"], []], ids=["overwrite", "resume", "new"])
def test_training_refuses_a_run_another_process_writes(flags, toy_root, locked_run, live_pid, capsys):
    refused("cvae", [*toy(toy_root), "--latent_size", "6", "--base_channels", "32", "--out", locked_run, *flags],
            capsys, str(locked_run), f"process {live_pid}", unchanged=locked_run)


READERS = [  # every script that reads a run, with flags it needs; True: it writes its figures into the run
    ("sample_prior", [], True), ("changing_smiles", [], True), ("sample_across_axis", ["--axis", "0"], True),
    ("sample_across_pca_axis", [], True), ("latent_analysis", [], True), ("evaluate", [], True),
    ("predict_smiles", ["--heldout"], True), ("attribute_vectors", [], True),
    ("modify_attribute", ["--attribute", "Smiling"], True), ("interpolate", [], True),
    ("edit_directions", ["--attribute", "Smiling"], True), ("evaluate_attributes", [], True),
]


@pytest.mark.parametrize(("script", "flags"), [(s, f) for s, f, _ in READERS], ids=[s for s, _, _ in READERS])
def test_every_reader_refuses_a_run_being_written(script, flags, locked_run, live_pid, capsys):
    refused(script, ["--run", locked_run, *flags], capsys, str(locked_run), f"process {live_pid}",
            unchanged=locked_run)


def test_judges_from_a_run_being_written_are_refused(tiny_run, locked_run, capsys):
    refused("evaluate", ["--run", tiny_run, "--judges", locked_run], capsys, str(locked_run), unchanged=tiny_run)


def test_nothing_to_resume(toy_root, tmp_path, capsys):
    refused("cvae", [*toy(toy_root), "--out", tmp_path / "none", "--resume"], capsys, "nothing to resume")
    assert not (tmp_path / "none").exists()


def test_resume_to_fewer_epochs_than_done_is_refused(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    refused("cvae", ["--resume", "--out", run, "--n_epochs", "2"], capsys, "--n_epochs 2", "3 epochs",
            unchanged=run)


def test_overwrite_never_deletes_files_that_are_not_a_run(toy_root, tmp_path, capsys):
    mine = tmp_path / "documents"
    (mine / "thesis").mkdir(parents=True)
    (mine / "thesis" / "chapter1.tex").write_text("precious")
    refused("cvae", [*toy(toy_root), "--out", mine, "--overwrite"], capsys, "not a run", "thesis", unchanged=mine)


@pytest.mark.parametrize("failure", ["interrupted", "diverged"])
def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(failure, toy_root, tiny_run, tmp_path,
                                                                        monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = tree(run)

    def first_epoch(self):
        assert self.out.name.startswith(".run.staging-") and (self.out / "flags.json").exists()
        assert tree(run) == {**before, ".lock": tree(run)[".lock"]}  # the old run locked, nothing else changed
        if failure == "interrupted":
            raise KeyboardInterrupt
        return {"loss": float("nan")}

    monkeypatch.setattr(Trainer, "train_epoch", first_epoch)
    argv = [*toy(toy_root), "--out", run, "--overwrite"]
    if failure == "interrupted":
        with pytest.raises(KeyboardInterrupt):
            importlib.import_module("cvae").main([str(a) for a in argv])
    else:
        refused("cvae", argv, capsys, "diverged in epoch 1", "before any checkpoint")
    assert tree(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left


def test_ctrl_c_before_the_new_runs_first_checkpoint_says_the_old_run_is_intact(toy_root, tiny_run, tmp_path,
                                                                                 monkeypatch, no_figures, capsys):
    """Epoch 1 finished but not yet written (the cadence), Ctrl-C in epoch 2: the trainer's line pointed at
    --resume on the staging folder, which is deleted; the line now says nothing was kept and the old run is there."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = tree(run)
    real_epoch, calls = Trainer.train_epoch, []

    def second_epoch_interrupted(self):
        calls.append(self.epoch)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(self)

    monkeypatch.setattr(Trainer, "train_epoch", second_epoch_interrupted)
    code, _, err = call("cvae", [*toy(toy_root), "--out", run, "--overwrite", "--checkpoint_seconds", "3600",
                                 "--n_epochs", "3"], capsys)
    lines = message_lines(err)
    assert code == 130 and len(lines) == 1, err
    assert "nothing of it was kept" in lines[0] and f"{run} still holds the run" in lines[0]
    assert "--resume" not in lines[0] and tree(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_puts_the_new_run_in_place_after_its_first_checkpoint(toy_root, tiny_run, tmp_path, monkeypatch,
                                                                        no_figures, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "marker.txt").write_text("the old run")
    seen = []
    real_write = Trainer.write

    def write(self, state):
        real_write(self, state)
        seen.append((self.epoch, self.out.name, (run / "marker.txt").exists()))

    monkeypatch.setattr(Trainer, "write", write)
    code, _, err = call("cvae", [*toy(toy_root), "--n_epochs", "2", "--out", run, "--overwrite",
                                 "--checkpoint_seconds", "0"], capsys)
    assert code == 0, err
    # epoch 1 written beside the old run (still in place), epoch 2 in the swapped folder
    assert seen[0][1].startswith(".run.staging-") and seen[0][2] and seen[1] == (2, "run", False)
    flags = json.loads((run / "flags.json").read_text())
    ckpt = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert ckpt["record"] == flags and ckpt["epoch"] == 2 and flags["train_config"]["n_epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"] and not (run / ".lock").exists()


def test_stale_temporaries_and_staging_folders_are_cleaned_and_live_ones_kept(toy_root, tiny_run, tmp_path,
                                                                              dead_pid, live_pid, no_figures,
                                                                              capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    stale = run / "checkpoints" / f".epoch_2.pt.{dead_pid}.tmp"
    live = run / "checkpoints" / f".last.pt.{live_pid}.tmp"
    stale.write_bytes(b"half a checkpoint")
    live.write_bytes(b"another process is writing this")
    old_staging = tmp_path / f".run.staging-{dead_pid}"
    old_staging.mkdir()
    write_lock(old_staging, dead_pid)
    code, _, err = call("cvae", ["--resume", "--out", run, "--n_epochs", "4", "--eval_every", "4"], capsys)
    assert code == 0, err
    assert not stale.exists() and live.exists() and not old_staging.exists()


def test_a_folder_left_by_a_run_that_never_reached_a_checkpoint_is_replaced(toy_root, tmp_path, no_figures, capsys):
    left = tmp_path / "run"
    (left / "iterations").mkdir(parents=True)
    (left / "flags.json").write_text("{}")
    code, _, err = call("cvae", [*toy(toy_root), "--out", left], capsys)
    assert code == 0, err
    assert (left / "checkpoints/last.pt").is_file() and json.loads((left / "flags.json").read_text())["model"]


# ---- 4. images are decoded right or refused ----------------------------------------------------------------
def test_a_1x1_training_image_is_refused(toy_root, tiny_run, tmp_path, capsys):
    faces = tmp_path / "faces"
    for i in range(5):
        png(faces / f"2{i}_0_0_2017.png", 48, 48)
    png(faces / "25_1_0_2017.png", 1, 1)
    labels = tmp_path / "labels.csv"
    labels.write_text(",stimulus_filename,avg_encode\n" + "".join(f"{i},2{i}_{int(i == 5)}_0_2017.png,0.5\n"
                                                                   for i in range(6)))
    refused("cvae", ["--data", faces, "--labels", labels, "--resize", "32", "--cache_dir", tmp_path / "cache",
                     "--out", tiny_run, "--overwrite"], capsys, "25_1_0_2017.png", "1x1", unchanged=tiny_run)


def test_a_1x1_unlabelled_image_is_refused(toy_root, tiny_run, tmp_path, capsys):
    extra = tmp_path / "unlabelled"
    png(extra / "30_0_0_2017.png", 48, 48)
    png(extra / "31_0_0_2017.png", 1, 1)
    refused("cvae", [*toy(toy_root), "--unlabeled", extra, "--out", tiny_run, "--overwrite"], capsys,
            "31_0_0_2017.png", unchanged=tiny_run)


PHOTO_SCRIPTS = [("changing_smiles", ["--images", "PHOTO"]), ("sample_across_axis", ["--axis", "0",
                                                                                      "--from_image", "PHOTO"]),
                 ("interpolate", ["--images", "PHOTO", "PHOTO"])]


@pytest.mark.parametrize("kind", ["1x1", "truncated", "not_an_image"])
@pytest.mark.parametrize(("script", "flags"), PHOTO_SCRIPTS, ids=[s for s, _ in PHOTO_SCRIPTS])
def test_user_photos_go_through_the_training_loader(script, flags, kind, tiny_run, tmp_path, capsys):
    photo = tmp_path / "me.jpg"
    if kind == "1x1":
        png(photo.with_suffix(".png"), 1, 1)
        photo = photo.with_suffix(".png")
    elif kind == "truncated":
        Image.new("RGB", (80, 80), (200, 100, 50)).save(photo, quality=95)
        photo.write_bytes(photo.read_bytes()[:300])
    else:
        photo.write_text("not a picture")
    refused(script, ["--run", tiny_run, *[photo if f == "PHOTO" else f for f in flags]], capsys, photo.name,
            unchanged=tiny_run)


def test_a_16_bit_photo_decodes_as_its_8_bit_self(tmp_path):
    ramp = (torch.arange(64 * 64).reshape(64, 64) * 16).to(torch.int32).numpy()  # 0 .. 65520
    Image.fromarray(ramp.astype("uint16")).save(tmp_path / "wide.png")
    narrow = ((ramp + 128) // 257).astype("uint8")
    Image.fromarray(narrow).save(tmp_path / "narrow.png")
    wide = load_photos([tmp_path / "wide.png"], 32, 1)
    assert 0.2 < wide.mean() < 0.8  # not solid white
    assert torch.equal(wide, load_photos([tmp_path / "narrow.png"], 32, 1))


# ---- 5. the environment's errors are one line ---------------------------------------------------------------
@pytest.fixture()
def ro_dir(tmp_path) -> Path:
    (tmp_path / "ro").mkdir()
    return tmp_path / "ro"


def test_read_only_out_folder(toy_root, ro_dir, read_only, capsys):
    read_only(ro_dir)
    refused("cvae", [*toy(toy_root), "--out", ro_dir], capsys, "--out", "read-only")
    refused("cvae", [*toy(toy_root), "--out", ro_dir / "new" / "run"], capsys, "--out", str(ro_dir), "read-only")
    refused("dataset_bias", ["--data", toy_root / "toy/images", "--labels", toy_root / "toy/labels.csv", "--out",
                             ro_dir], capsys, "--out", "read-only")


@pytest.mark.parametrize(("script", "flags"), [(s, f) for s, f, w in READERS if w and s != "predict_smiles"]
                         + [("cvae", "RESUME")], ids=[s for s, _, w in READERS if w and s != "predict_smiles"]
                         + ["cvae --resume"])
def test_read_only_run_folder(script, flags, tiny_run, tmp_path, read_only, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    read_only(run)
    argv = ["--resume", "--out", run, "--n_epochs", "4"] if flags == "RESUME" else ["--run", run, *flags]
    refused(script, argv, capsys, str(run), "read-only", unchanged=run)


def test_outputs_where_files_stand(toy_root, tiny_run, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    answers = tmp_path / "ann.csv"
    answers.write_text("image,answer,reaction_time\nface.jpg,s,0.5\n")
    data = ["--data", toy_root / "toy/images", "--labels", toy_root / "toy/labels.csv"]
    refused("cvae", [*toy(toy_root), "--out", a_file], capsys, "--out", "is a file")
    refused("cvae", [*toy(toy_root), "--out", a_file / "run"], capsys, "--out", "a_file is a file")
    refused("cvae", [*toy(toy_root), "--cache_dir", a_file, "--out", tmp_path / "r"], capsys, "--cache_dir")
    refused("dataset_bias", [*data, "--out", a_file], capsys, "--out", "is a file")
    refused("label_smiles", ["--merge", answers, "--out", tmp_path], capsys, "--out", "is a folder")
    refused("label_smiles", ["--merge", answers, "--out", a_file / "labels.csv"], capsys, "a_file is a file")
    refused("label_smiles", ["--images", tmp_path, "--rater", "ann", "--labels_dir", a_file], capsys,
            "--labels_dir", "is a file")
    refused("predict_smiles", ["--run", tiny_run, "--images", tmp_path, "--out", tmp_path], capsys, "--out",
            unchanged=tiny_run)
    assert not (tmp_path / "r").exists()


def test_a_folder_where_a_figure_goes_is_a_file(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    shutil.rmtree(run / "sampled", ignore_errors=True)
    (run / "sampled").write_text("not a folder")
    refused("sample_prior", ["--run", run, "--n", "2"], capsys, str(run / "sampled"), "a file stands where a folder",
            unchanged=run)
    refused("sample_prior", ["--run", run / "sampled"], capsys, "flags.json", unchanged=run)


def test_any_other_os_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        guard(lambda: open("/no/such/folder/labels.csv"))  # noqa: SIM115
    lines = message_lines(capsys.readouterr().err)
    assert stop.value.code == 2 and len(lines) == 1 and "/no/such/folder/labels.csv" in lines[0], lines


@pytest.mark.parametrize("content", ["{}", "[]", "not json"])
def test_a_flags_json_that_is_not_a_runs(content, toy_root, tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "flags.json").write_text(content)
    refused("sample_prior", ["--run", run], capsys, "flags.json", unchanged=run)
    refused("cvae", ["--resume", "--out", run], capsys, "flags.json", unchanged=run)


@pytest.mark.parametrize("script", ["vae", "train_feature_net"])
def test_a_duplicate_celeba_row_is_refused(script, tiny_run, tmp_path, capsys):
    images, attrs = write_celeba(tmp_path, n=8)
    lines = attrs.read_text().splitlines()
    attrs.write_text("\n".join([*lines, lines[3]]) + "\n")
    refused(script, ["--dataset", "celeba", "--data", images, "--attrs", attrs, "--resize", "32", "--cache_dir",
                     tmp_path / "cache", "--out", tiny_run, "--overwrite"], capsys, str(attrs), "twice",
            unchanged=tiny_run)


def test_a_duplicate_smile_label_is_refused(toy_root, tiny_run, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    rows = (toy_root / "toy/labels.csv").read_text().splitlines()
    labels.write_text("\n".join([*rows, rows[2]]) + "\n")
    refused("cvae", ["--data", toy_root / "toy/images", "--labels", labels, "--resize", "32", "--cache_dir",
                     toy_root / "cache", "--out", tiny_run, "--overwrite"], capsys, str(labels), "twice",
            unchanged=tiny_run)


def test_a_read_only_or_broken_image_cache_costs_one_warning(toy_root, tmp_path, read_only, monkeypatch, capsys):
    """Handled: the faces are decoded without the cache; the next run decodes again."""
    paths = sorted((toy_root / "toy/images").iterdir())[:8]
    direct = decode_images(paths, size=32, channels=3, cache_dir=None)
    (tmp_path / "cache").mkdir()
    cache = read_only(tmp_path / "cache")
    if os.geteuid() == 0:  # root may write there anyway: the write fails as it would for a user
        monkeypatch.setattr("facegen.data.cache.torch.save",
                            lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for folder in (cache, a_file / "cache"):
        capsys.readouterr()
        assert torch.equal(decode_images(paths, size=32, channels=3, cache_dir=folder), direct)
        lines = message_lines(capsys.readouterr().err)
        assert len(lines) == 1 and lines[0].startswith("warning: cannot write image cache") and "--cache_dir" in \
            lines[0], lines
    assert list(cache.iterdir()) == []


def test_output_files_in_missing_folders_are_made_and_windows_text_is_read(tmp_path, capsys):
    """Handled: --out's missing folders are created (as mkdir -p); answers files in Windows-1252 or with a UTF-8
    byte-order mark are read; a rater's second answer to a face is dropped with one note line."""
    (tmp_path / "ann.csv").write_bytes("image,answer,reaction_time\ncafé.jpg,s,0.5\nb.jpg,n,1.0\n".encode("cp1252"))
    (tmp_path / "bob.csv").write_bytes(b"\xef\xbb\xbf" + "image,answer,reaction_time\ncafé.jpg,n,0.5\n"
                                       "b.jpg,s,1.5\ncafé.jpg,s,0.1\n".encode())
    out = tmp_path / "new" / "deeper" / "labels.csv"
    code, _, err = call("label_smiles", ["--merge", tmp_path / "ann.csv", tmp_path / "bob.csv", "--out", out], capsys)
    assert code == 0, err
    assert message_lines(err) == [f"note: {tmp_path / 'bob.csv'} answers 1 face(s) more than once (e.g. café.jpg, "
                                  f"2 times): the first answer of each is kept"]
    rows = {r.split(",")[1]: float(r.split(",")[2]) for r in out.read_text(encoding="utf-8").splitlines()[1:]}
    # café: ann s at her median speed-ish, bob n (his first answer): d = (2^(-0.5/0.75) - 2^(-0.5/1.0)) / 2
    assert rows["café.jpg"] == pytest.approx((2 ** (-0.5 / 0.75) - 2 ** (-0.5 / 1.0)) / 2)


# ---- the fault test: two processes race for one --out -------------------------------------------------------
@pytest.mark.slow  # two training processes
def test_two_trainings_racing_for_one_out_leave_one_whole_run(toy_root, tiny_run, tmp_path):
    out = tmp_path / "race"
    base = [sys.executable, str(ROOT / "cvae.py"), *map(str, toy(toy_root)), "--n_epochs", "2", "--out", str(out)]
    procs = [subprocess.Popen([*base, "--seed", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True),
             subprocess.Popen([*base, "--seed", "2", "--overwrite"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = [code for _, _, code in results]
    assert 0 in codes and set(codes) <= {0, 2}, results
    for _, err, code in results:
        if code == 2:
            lines = message_lines(err)
            assert len(lines) == 1 and "Traceback" not in err, err
            assert "is being written by" in lines[0] or "already holds a run" in lines[0], lines[0]
    flags = json.loads((out / "flags.json").read_text())
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert ckpt["record"] == flags and ckpt["epoch"] == 2  # the flags, checkpoint and log of one run
    assert [int(r.split(",")[0]) for r in (out / "training.csv").read_text().splitlines()[1:]] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race"] and not (out / ".lock").exists()
