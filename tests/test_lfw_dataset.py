"""LFW as a dataset of every script: --dataset lfw --data DIR, split by person (and rebuilt so by a run), no
conditions; and the trainer's --jitter colour jitter, drawn from its checkpointed generator."""

from __future__ import annotations

import pytest
import torch

import dcgan
from facegen.cli.args import guard
from facegen.core.errors import FacegenError
from facegen.data import load_dataset
from facegen.data.augment import color_jitter
from facegen.data.spec import DataSpec
from facegen.models.registry import build_model
from facegen.runs import Run
from facegen.train.trainer import TrainConfig, Trainer
from tests.fakes import make_lfw


def test_lfw_loads_without_conditions_and_splits_by_person(tmp_path):
    root = make_lfw(tmp_path / "lfw")
    spec = DataSpec(dataset="lfw", data=root, conditions=[], size=32, cache_dir=tmp_path / "cache", val_fraction=0.3)
    faces = spec.load()
    assert len(faces) == 7 and faces.cond.shape == (7, 0) and "person" in faces.meta
    for seed in range(5):
        spec.seed = seed
        train, val = spec.split(faces)
        assert len(train) + len(val) == 7 and len(val) > 0
        assert not set(train.meta["person"].tolist()) & set(val.meta["person"].tolist())


def test_lfw_refuses_conditions_labels_and_a_missing_folder(tmp_path):
    root = make_lfw(tmp_path / "lfw")
    with pytest.raises(FacegenError, match="LFW has no labels, so no --conditions"):
        load_dataset(dataset="lfw", data=root, conditions=["smile"], size=32, cache_dir=None)
    with pytest.raises(FacegenError, match="drop --labels"):
        load_dataset(dataset="lfw", data=root, labels=root / "faces.csv", conditions=[], size=32, cache_dir=None)
    with pytest.raises(FacegenError, match="pass --data DIR"):
        load_dataset(dataset="lfw", conditions=[], size=32, cache_dir=None)


def test_a_gan_trains_on_lfw_and_its_run_rebuilds_the_person_split(tmp_path, capsys):
    root = make_lfw(tmp_path / "lfw")
    out = tmp_path / "run"
    dcgan.main(["--dataset", "lfw", "--data", str(root), "--cache_dir", str(tmp_path / "cache"), "--batch_size", "2",
                "--n_epochs", "1", "--g_channels", "4", "--d_channels", "4", "--max_channels", "8",
                "--val_fraction", "0.3", "--out", str(out)])
    run = Run.load(out)
    assert run.size == 64 and run.cond_names == [] and run.data.conditions == []  # LFW's default size: its crops'
    train, val = run.faces()
    assert run.dataset["n_train"] == len(train) and run.dataset["n_val"] == len(val)
    assert not set(train.meta["person"].tolist()) & set(val.meta["person"].tolist())
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        guard(lambda: dcgan.main(["--dataset", "lfw", "--data", str(root), "--conditions", "smile",
                                  "--out", str(tmp_path / "c")]))
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "LFW has no labels" in err[-1]


def test_jitter_is_color_jitter_drawn_from_the_trainers_generator(tmp_path):
    """The first jittered batch equals the plain one put through color_jitter with a generator that has drawn
    the epoch's order and flips first, as the trainer's generator has."""
    g = torch.Generator().manual_seed(0)
    faces = load_dataset(dataset="lfw", data=make_lfw(tmp_path / "lfw"), conditions=[], size=32, cache_dir=None)
    faces.images = torch.randint(0, 256, faces.images.shape, generator=g, dtype=torch.uint8)
    model = build_model("dcgan", dict(size=32, channels=3, g_channels=4, d_channels=4, max_channels=8))
    plain, jittered = (Trainer(model, faces, faces.subset(torch.arange(2)), TrainConfig(batch_size=4, jitter=j),
                               tmp_path, torch.device("cpu"), {}) for j in (0.0, 0.2))
    a, b = next(iter(plain.batches())), next(iter(jittered.batches()))
    gen = torch.Generator().manual_seed(0)
    torch.randperm(len(faces), generator=gen)
    torch.rand(len(faces), generator=gen)
    torch.testing.assert_close(b.x, color_jitter(a.x, gen, 0.2, 0.2, 0.2), rtol=0, atol=0)
    assert not torch.equal(a.x, b.x)
