"""compare_models.py end to end on toy faces with a tiny budget: runs trained under one budget of images seen,
reused on a second call, measured, tabled with mean ± sd over seeds, figures written; bad input in one line."""

from __future__ import annotations

import json

import pytest

import compare_models
from facegen.cli.args import guard
from facegen.core.files import load_checkpoint
from facegen.runs import LAST
from tests.helpers import written

SMALL = ["--extra", "ae=--base_channels 8 --max_channels 16 --latent_size 8",
         "--extra", "dcgan=--g_channels 8 --d_channels 8 --max_channels 16 --latent_size 8",
         "--extra", "vaegan=--e_channels 8 --g_channels 8 --d_channels 8 --max_channels 16 --latent_size 8"]


def compare_args(toy_root, out, *extra: str) -> list[str]:
    return ["--dataset", "toy", "--toy_dir", str(toy_root / "toy"), "--toy_n", "160", "--resize", "32",
            "--cache_dir", str(toy_root / "cache"), "--out", str(out), "--models", "ae,dcgan,vaegan",
            "--images", "150", "--batch_size", "32", "--feature_net", "pixels", "--n_samples", "40", "--n_show", "4",
            *SMALL, *extra]


@pytest.mark.slow  # six training runs
def test_compare_trains_under_one_budget_and_tables_mean_and_spread(toy_root, tmp_path, capsys):
    out = tmp_path / "cmp"
    compare_models.main(compare_args(toy_root, out, "--seeds", "0,1"))
    for seed in (0, 1):
        for name in ("ae", "dcgan", "vaegan"):
            assert load_checkpoint(out / f"seed{seed}" / name / LAST)["epoch"] == 2  # ceil(150 / 144 faces)
    table = (out / "table.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    assert set(rows) >= {"model", "ae", "dcgan", "vaegan", "real faces (held-out halves)"}
    assert " ± " in rows["dcgan"] and rows["dcgan"].count("–") == 3  # no reconstruction (MSE x2, sharpness)
    assert "–" not in rows["vaegan"] and "not an FID" in table
    results = json.loads((out / "results.json").read_text())
    assert len(results["runs"]["vaegan"]) == 2
    shares = [r["precision"] * 40 for runs in results["runs"].values() for r in runs]  # of --n_samples 40
    assert shares == pytest.approx([round(s) for s in shares], abs=1e-9), shares
    assert all(r["sharp_recon"] > 0 and r["sharp_samples"] > 0 for r in results["runs"]["vaegan"])
    written(out, "samples.png", "reconstructions.png", "prior_sd_dcgan.png", "prior_sd_ae.png")
    before = (out / "seed0" / "dcgan" / LAST).stat().st_mtime
    capsys.readouterr()
    compare_models.main(compare_args(toy_root, out, "--seeds", "0", "--eval_only"))
    assert (out / "seed0" / "dcgan" / LAST).stat().st_mtime == before and "| dcgan |" in capsys.readouterr().out


@pytest.mark.parametrize(("flags", "words"), [
    (["--models", "ae,gan"], ["unknown gan"]),
    (["--extra", "wgan=--x 1"], ["MODEL=FLAGS"]),
    (["--feature_net", "missing.pt"], ["missing.pt", "train_feature_net.py"]),
    (["--seeds", "nan"], ["--seeds nan", "whole number"]),
    (["--seeds", "0,-1"], ["--seeds 0,-1", "from 0 to"]),
    (["--seeds", "1,1"], ["names a seed twice"]),
])
def test_bad_input_is_one_line(toy_root, tmp_path, capsys, flags, words):
    with pytest.raises(SystemExit) as e:
        guard(lambda: compare_models.main(compare_args(toy_root, tmp_path / "x", *flags)))
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and all(w in err[0] for w in words), err
