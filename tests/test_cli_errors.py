"""Bad input to the training scripts: one line on stderr, exit status 2, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.fakes import tiny_args
from tests.helpers import run_script, script_refusal


def write_labels(path: Path, rows: list[str]) -> Path:
    path.write_text(",stimulus_filename,avg_encode\n" + "".join(f"{r}\n" for r in rows))
    return path


@pytest.fixture()
def small_folder(tmp_path) -> tuple[Path, Path]:
    """Six readable face-like images and their labels."""
    folder = tmp_path / "faces"
    folder.mkdir()
    rows = []
    for i in range(6):
        Image.new("RGB", (60, 60), (40 * i, 100, 150)).save(folder / f"2{i}_0_0_2017.jpg")
        rows.append(f"{i},2{i}_0_0_2017.jpg,{i / 6:.2f}")
    return folder, write_labels(tmp_path / "labels.csv", rows)


def test_missing_data_folder(tmp_path):
    proc = run_script("cvae.py", "--data", str(tmp_path / "nope"), "--labels", str(tmp_path / "l.csv"),
                      "--out", str(tmp_path / "run"))
    script_refusal(proc, str(tmp_path / "nope"))


def test_empty_data_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    labels = write_labels(tmp_path / "l.csv", ["0,a.jpg,0.5"])
    proc = run_script("cvae.py", "--data", str(tmp_path / "empty"), "--labels", str(labels),
                      "--out", str(tmp_path / "run"))
    script_refusal(proc, "empty")


def test_truncated_image(small_folder, tmp_path):
    folder, labels = small_folder
    data = (folder / "20_0_0_2017.jpg").read_bytes()
    (folder / "20_0_0_2017.jpg").write_bytes(data[: len(data) // 3])
    proc = run_script("cvae.py", "--data", str(folder), "--labels", str(labels), "--resize", "32",
                      "--cache_dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"))
    script_refusal(proc, "20_0_0_2017.jpg")


def test_non_image_file(small_folder, tmp_path):
    folder, labels = small_folder
    (folder / "21_0_0_2017.jpg").write_text("not an image at all")
    proc = run_script("cvae.py", "--data", str(folder), "--labels", str(labels), "--resize", "32",
                      "--cache_dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"))
    script_refusal(proc, "21_0_0_2017.jpg")


def test_malformed_label_file(small_folder, tmp_path):
    folder, _ = small_folder
    labels = write_labels(tmp_path / "bad.csv", ["0,20_0_0_2017.jpg,0.5", "1,21_0_0_2017.jpg,lots"])
    proc = run_script("cvae.py", "--data", str(folder), "--labels", str(labels), "--out", str(tmp_path / "run"))
    script_refusal(proc, "bad.csv", "3")


def test_label_out_of_range(small_folder, tmp_path):
    folder, _ = small_folder
    labels = write_labels(tmp_path / "bad.csv", ["0,20_0_0_2017.jpg,1.7"])
    proc = run_script("cvae.py", "--data", str(folder), "--labels", str(labels), "--out", str(tmp_path / "run"))
    script_refusal(proc, "bad.csv")


@pytest.mark.parametrize("size", ["16", "200"])
def test_resize_out_of_range(tmp_path, size):
    proc = run_script("ae.py", "--resize", size, "--out", str(tmp_path / "run"))
    script_refusal(proc, "--resize", "from 32 to 128")


def test_existing_run_is_not_overwritten(toy_root, tiny_run, tmp_path):
    before = (tiny_run / "checkpoints/last.pt").read_bytes()
    proc = run_script("cvae.py", *tiny_args(toy_root, "cvae"))
    script_refusal(proc, "--resume", "--overwrite")
    assert (tiny_run / "checkpoints/last.pt").read_bytes() == before


def test_resume_with_other_shapes_is_refused(toy_root, tiny_run):
    before = (tiny_run / "checkpoints/last.pt").read_bytes()
    args = tiny_args(toy_root, "cvae")
    args[args.index("--latent_size") + 1] = "9"
    proc = run_script("cvae.py", *args, "--resume")
    script_refusal(proc, "--latent_size", "9")
    assert (tiny_run / "checkpoints/last.pt").read_bytes() == before


def test_corrupt_checkpoint_is_reported(toy_root, tiny_run, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    (copy / "checkpoints/last.pt").write_bytes(b"garbage")
    args = tiny_args(toy_root, "cvae")
    args[args.index("--out") + 1] = str(copy)
    proc = run_script("cvae.py", *args, "--resume", "--n_epochs", "4")
    script_refusal(proc, "last.pt")


def test_cuda_request_without_gpu(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    proc = run_script("ae.py", "--device", "cuda", "--out", str(tmp_path / "run"))
    script_refusal(proc, "--device cpu")


def test_unknown_flag_is_one_line(tmp_path):
    proc = run_script("vae.py", "--no_such_flag")
    script_refusal(proc, "--no_such_flag")


def test_resume_needs_only_the_run_folder(toy_root, tiny_run, tmp_path):
    """`cvae.py --resume --out DIR --n_epochs N` continues with the run's own flags from flags.json."""
    import json
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    proc = run_script("cvae.py", "--resume", "--out", str(copy), "--n_epochs", "4")
    assert proc.returncode == 0, proc.stderr[-500:]
    flags = json.loads((copy / "flags.json").read_text())["args"]
    assert flags["n_epochs"] == 4 and flags["latent_size"] == 6 and flags["toy_n"] == 160
    assert (copy / "training.csv").read_text().count("\n") == 5  # header + epochs 1-4
    proc = run_script("cvae.py", "--resume", "--out", str(copy), "--latent_size", "9")
    script_refusal(proc, "--latent_size", "9")
