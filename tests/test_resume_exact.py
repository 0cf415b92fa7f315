"""Resume is exact at every epoch, for every registered model of every family (issue 16, class 2).

Each model trains 4 epochs straight through its own script, validating at epochs 1, 3 and 4 (--eval_every 3).
Two interrupted copies must end bit for bit where the straight run ends (weights, optimizer and schedule states,
every random state) with the same history:
- stopped after epoch 2, a NON-validation epoch (Ctrl-C during epoch 3), then ``--resume``;
- stopped at the very end of a 2-epoch run (whose last epoch validated), then ``--resume --n_epochs 4``.
The attribute net's one-cycle schedule spans the run's length, so there the second is refused in one line.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.data.toyfaces import make_toy_dataset
from facegen.nn.attrnet import AttributeNet, save_attribute_net
from facegen.train.trainer import Trainer
from tests.fakes import write_celeba
from tests.helpers import call, message_lines

MODELS = ["ae", "vae", "cvae", "sscvae", "dfcvae", "attrnet", "ganimation"]


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    """The end-of-run figures hold no state: skipped, to keep these 30 short runs fast."""
    monkeypatch.setattr(Trainer, "write_figures", lambda self: None)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, list]:
    """(script, flags) of a tiny run of each model: 48 toy faces (plus 24 unlabelled ones for sscvae, a feature
    net for dfcvae), a tiny CelebA layout for the attribute net; three steps per epoch."""
    root = tmp_path_factory.mktemp("resume")
    toy = ["--dataset", "toy", "--toy_dir", root / "toy", "--toy_n", "48", "--resize", "32", "--cache_dir",
           root / "cache", "--latent_size", "4", "--base_channels", "8", "--batch_size", "16"]
    images, _ = make_toy_dataset(root / "toy", n=48)
    unlabelled = root / "unlabelled"
    unlabelled.mkdir()
    for i, path in enumerate(sorted(images.iterdir())[:24]):
        Image.open(path).transpose(Image.Transpose.ROTATE_90).save(unlabelled / f"u{i:03d}.png")
    torch.manual_seed(0)
    net = root / "attribute_net.pt"
    save_attribute_net(net, AttributeNet(40, channels=3, size=32), [f"a{i}" for i in range(40)], {})
    celeba_images, attrs = write_celeba(root / "celeba", n=40)
    return {
        "ae": ["ae", toy], "vae": ["vae", [*toy, "--beta", "0.5"]], "cvae": ["cvae", toy],
        "sscvae": ["cvae", [*toy, "--unlabeled", unlabelled, "--label_weight", "5"]],
        "dfcvae": ["vae", [*toy, "--loss", "perceptual", "--feature_net", net]],
        "ganimation": ["train_editor", [*toy[:10], "--batch_size", "16", "--g_width", "8", "--d_width", "8",
                                        "--n_res", "1", "--d_layers", "3"]],
        "attrnet": ["train", ["--model", "attrnet", "--dataset", "celeba", "--data", celeba_images, "--attrs", attrs,
                              "--resize", "32", "--cache_dir", root / "cache", "--batch_size", "12",
                              "--val_fraction", "0.1"]],
    }


def train(script: str, argv: list, capsys) -> None:
    code, _, err = call(script, argv, capsys)
    assert code == 0, err


def final(out: Path) -> dict:
    return torch.load(out / "checkpoints/last.pt", weights_only=True)


def same_state(a, b) -> bool:
    """Bit-for-bit equality of nested checkpoint contents."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_state, a, b))
    return a == b or (a != a and b != b)  # nan == nan here


def assert_same_end(got: dict, want: dict, validated_at_2: bool = False) -> None:
    for key in ("model", "optimizers", "schedulers", "scaler", "rng", "tracks", "epoch"):
        assert same_state(got[key], want[key]), key
    assert len(got["history"]) == len(want["history"]) == 4
    for g, w in zip(got["history"], want["history"], strict=True):
        g, w = ({k: v for k, v in row.items() if k != "seconds"} for row in (g, w))
        if validated_at_2 and g["epoch"] == 2:  # the 2-epoch run validated at its end, the straight one did not
            g = {k: v for k, v in g.items() if not k.startswith("val_")}
        assert same_state(g, w), (g, w)


@pytest.mark.parametrize("model", MODELS)
def test_resume_after_a_non_validation_epoch_and_after_the_end_equals_a_straight_run(model, data, tmp_path,
                                                                                     monkeypatch, capsys):
    script, flags = data[model]
    straight, stopped, ended = tmp_path / "straight", tmp_path / "stopped", tmp_path / "ended"
    common = [*flags, "--eval_every", "3"]
    train(script, [*common, "--n_epochs", "4", "--out", straight], capsys)
    assert final(straight)["model_name"] == model

    real_epoch = Trainer.train_epoch

    def interrupt_in_epoch_3(self):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(self)

    with monkeypatch.context() as m:
        m.setattr(Trainer, "train_epoch", interrupt_in_epoch_3)
        with pytest.raises(KeyboardInterrupt):
            importlib.import_module(script).main([str(a) for a in [*common, "--n_epochs", "4", "--out", stopped]])
    assert final(stopped)["epoch"] == 2 and not any(k.startswith("val_") for k in final(stopped)["history"][1])
    resume = ["--model", model] if script == "train" else []
    train(script, [*resume, "--resume", "--out", stopped], capsys)
    assert_same_end(final(stopped), final(straight))

    train(script, [*common, "--n_epochs", "2", "--out", ended], capsys)
    if model == "attrnet":  # its one-cycle schedule is laid over --n_epochs
        before = {p: p.read_bytes() for p in ended.rglob("*") if p.is_file()}
        code, _, err = call(script, [*resume, "--resume", "--out", ended, "--n_epochs", "4"], capsys)
        assert code == 2 and len(message_lines(err)) == 1 and "--n_epochs 4" in err and "schedule" in err, err
        assert {p: p.read_bytes() for p in ended.rglob("*") if p.is_file()} == before
        return
    train(script, [*resume, "--resume", "--out", ended, "--n_epochs", "4"], capsys)
    assert_same_end(final(ended), final(straight), validated_at_2=True)
