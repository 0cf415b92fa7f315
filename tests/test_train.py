"""The trainer: learning happens, resume is exact, divergence stops cleanly, statistics are right."""

from pathlib import Path

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.core.seeding import seed_everything
from facegen.models.registry import build_model
from facegen.runs import LAST, prepare_run_dir
from facegen.train.trainer import TrainConfig, Trainer
from tests.fakes import structured_faces


def make_trainer(out: Path, n_epochs: int, model: str = "cvae", lr: float = 2e-3, lr_step: int = 100,
                 amp: bool = False) -> Trainer:
    seed_everything(0)
    train, val = structured_faces().split(0.25, seed=0)
    net = build_model(model, dict(size=32, channels=3, latent_size=4, cond_dim=1, base_channels=8))
    cfg = TrainConfig(n_epochs=n_epochs, lr=lr, batch_size=8, lr_step=lr_step, eval_every=2, seed=0, amp=amp)
    return Trainer(net, train, val, cfg, out, torch.device("cpu"), {"test": True})


@pytest.mark.parametrize("model", ["ae", "vae", "cvae"])
def test_loss_falls_on_a_small_fixed_set(tmp_path, model):
    prepare_run_dir(tmp_path, resume=False)
    history = make_trainer(tmp_path, 12, model).fit()
    assert history[-1]["train_recon"] < 0.5 * history[0]["train_recon"]
    assert history[-1]["val_loss"] is not None
    for name in ("training.csv", "training.gif", "iterations/original.png", "iterations/iter_12.png",
                 "plots/training.png", "plots/latent_var.png", "plots/latent_var_first_50.png",
                 "plots/latent_var_last_50.png", LAST):
        assert (tmp_path / name).exists(), name


def test_mixed_precision_trains_and_keeps_float32_weights(tmp_path):
    prepare_run_dir(tmp_path, resume=False)
    trainer = make_trainer(tmp_path, 8, amp=True)
    history = trainer.fit()
    assert trainer.amp_dtype == torch.bfloat16  # on the CPU; float16 + loss scaling only on GPUs without bf16
    assert history[-1]["train_recon"] < 0.5 * history[0]["train_recon"]
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert "scaler" in load_checkpoint(tmp_path / LAST)


@pytest.mark.parametrize("amp", [False, True])
def test_resumed_run_equals_uninterrupted_run(tmp_path, amp):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    for d in (straight, stopped):
        prepare_run_dir(d, resume=False)
    make_trainer(straight, 4, lr_step=2, amp=amp).fit()
    make_trainer(stopped, 2, lr_step=2, amp=amp).fit()
    resumed = make_trainer(stopped, 4, lr_step=2, amp=amp)
    resumed.resume()
    assert resumed.epoch == 2
    resumed.fit()
    a, b = load_checkpoint(straight / LAST), load_checkpoint(stopped / LAST)
    assert a["epoch"] == b["epoch"] == 4
    assert a["schedulers"]["model"]["last_epoch"] == b["schedulers"]["model"]["last_epoch"] == 4
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    assert (stopped / "training.csv").read_text().count("\n") == 5  # header + 4 epochs, no duplicates


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path):
    prepare_run_dir(tmp_path, resume=False)
    trainer = make_trainer(tmp_path, 5)
    real_loss = trainer.model.loss
    calls = {"n": 0}

    def exploding_loss(x, y, labelled=None):
        out = real_loss(x, y, labelled)
        calls["n"] += 1
        if trainer.epoch >= 1 and trainer.model.training:
            out["loss"] = out["loss"] * float("nan")
        return out

    trainer.model.loss = exploding_loss
    with pytest.raises(FacegenError, match="diverged in epoch 2"):
        trainer.fit()
    ckpt = load_checkpoint(tmp_path / LAST)
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_epoch_means_weigh_each_face_once(tmp_path):
    """48 training faces in batches of 8: the epoch's terms and latent variance are over faces, not batches."""
    trainer = make_trainer(tmp_path, 1)
    real_loss = trainer.model.loss
    seen = []

    def loss(x, y, labelled):  # the real step, reporting the batch size as its loss and y as its code
        out = real_loss(x, y, labelled)
        seen.append(y.clone())
        n = torch.full((), float(x.shape[0]))
        return {**out, "recon": n, "kl": 2 * n, "mu": y.expand(-1, 4).detach()}

    trainer.model.loss = loss
    trainer.cfg.batch_size = 10  # 48 faces -> batches of 10, 10, 10, 10, 8
    means = trainer.train_epoch()
    sizes = torch.tensor([len(y) for y in seen], dtype=torch.float64)
    assert sizes.tolist() == [10, 10, 10, 10, 8]
    assert means["recon"] == pytest.approx(float((sizes * sizes).sum() / sizes.sum()))
    assert means["kl"] == pytest.approx(2 * means["recon"])
    y = torch.cat(seen)[:, 0].double()
    torch.testing.assert_close(trainer.tracks["latent_var"][-1], y.var(correction=0).float().expand(4))


def test_latent_variance_recorded_per_epoch(tmp_path):
    prepare_run_dir(tmp_path, resume=False)
    trainer = make_trainer(tmp_path, 3)
    trainer.fit()
    assert len(trainer.tracks["latent_var"]) == 3 and trainer.tracks["latent_var"][0].shape == (4,)
