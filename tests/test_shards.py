"""Faces on disk as shards (prepare_data.py, facegen/data/shards.py): the batches equal the in-memory path's at
the same order, each rank reads its own shards through a bounded buffer, a run resumed within an epoch ends bit
for bit where a straight run ends, and a damaged shard is one line naming it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from helpers import ROOT, call, refusal

from facegen.core.distributed import World
from facegen.core.files import load_checkpoint
from facegen.data import load_dataset
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.data.prepare import chunks_of
from facegen.data.shards import buffered_order, load_shards, write_shards
from facegen.data.toyfaces import make_toy_dataset
from facegen.runs import Run
from facegen.train.trainer import Trainer

CPU = torch.device("cpu")


def random_faces(n: int, n_labelled: int | None = None, size: int = 8) -> FaceSet:
    g = torch.Generator().manual_seed(n)
    labelled = torch.arange(n) < (n if n_labelled is None else n_labelled)
    return FaceSet(images=torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
                   cond=torch.rand(n, 2, generator=g) * 2 - 1, cond_names=["smile", "gender"], labelled=labelled,
                   names=[f"{i}_0_0_face{i}.png" for i in range(n)],
                   meta={"age": torch.rand(n, generator=g) * 90, "race": torch.arange(n) % 5}, source="random")


@pytest.fixture
def sharded(tmp_path):
    """(faces in memory, the same faces read from shards of 7) for 53 faces, 40 of them labelled."""
    faces = random_faces(53, n_labelled=40)
    write_shards(chunks_of(faces, 10), tmp_path / "shards", shard_size=7, source="random")
    return faces, load_shards(tmp_path / "shards", ["smile", "gender"])


def same_batches(a, b) -> None:
    a, b = list(a), list(b)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.x, y.x) and torch.equal(x.y, y.y) and torch.equal(x.labelled, y.labelled)


def test_shards_hold_the_faces_and_labels(sharded):
    faces, disk = sharded
    assert len(disk) == 53 and disk.size == 8 and disk.channels == 3 and len(disk.images.manifest.shards) == 8
    assert torch.equal(disk.images.read(torch.arange(53)), faces.images)
    assert torch.equal(disk.cond, faces.cond) and torch.equal(disk.labelled, faces.labelled)
    assert disk.names == faces.names and torch.equal(disk.meta["race"], faces.meta["race"])
    idx = torch.tensor([52, 0, 13, 13, 7])
    assert torch.equal(disk.subset(idx).images.read(torch.arange(5)), faces.images[idx])


@pytest.mark.parametrize("world", [World(0, 1), World(1, 2)])
def test_one_shuffle_over_every_face_gives_the_in_memory_batches(sharded, world):
    """--shuffle_buffer 0: at equal seeds the same batches as faces held in memory (shuffled, mixed with
    unlabelled faces, in order), also after a split and on another rank."""
    faces, disk = sharded
    train = torch.arange(3, 50)
    memory = DeviceFaces(faces.subset(train), CPU, channels_last=True)
    on_disk = DeviceFaces(disk.subset(train), CPU, channels_last=True, shuffle_buffer=0)
    for draw in (lambda d, g: d.shuffled(5, g, world=world), lambda d, g: d.mixed(6, g, 0.25, world=world),
                 lambda d, g: d.in_order(9)):
        same_batches(draw(memory, torch.Generator().manual_seed(3)), draw(on_disk, torch.Generator().manual_seed(3)))
    first = next(on_disk.shuffled(5, torch.Generator().manual_seed(3)))
    assert first.x.is_contiguous(memory_format=torch.channels_last)


def test_a_resumed_epoch_skips_to_its_step(sharded):
    faces, disk = sharded
    data = DeviceFaces(disk, CPU, shuffle_buffer=10)
    whole = list(data.shuffled(4, torch.Generator().manual_seed(1)))
    same_batches(whole[5:], data.shuffled(4, torch.Generator().manual_seed(1), start=5))
    memory = DeviceFaces(faces, CPU)
    same_batches(list(memory.mixed(6, torch.Generator().manual_seed(2), 0.3))[2:],
                 memory.mixed(6, torch.Generator().manual_seed(2), 0.3, start=2))


def test_each_rank_reads_its_own_shards_through_the_buffer():
    """Rank r reads the shards at r, r + P, ... of the epoch's permutation: the ranks' faces are disjoint, each
    from its own shards only, every face of them once; a face leaves the buffer at most buffer - 1 places before
    the stream reads it; a buffer of one reads the shards front to back."""
    shards = torch.arange(40) // 6 + 3  # 7 shards (3 to 9): six of 6 faces, one of 4
    seen = []
    for rank in range(2):
        own = torch.Generator().manual_seed(rank)
        order = buffered_order(shards, 5, torch.Generator().manual_seed(9), own, rank, 2)
        perm = torch.randperm(7, generator=torch.Generator().manual_seed(9))
        mine = perm[rank::2] + 3
        stream = torch.cat([torch.nonzero(shards == k).flatten() for k in mine.tolist()])
        assert sorted(order.tolist()) == sorted(stream.tolist())
        read_at = {int(f): i for i, f in enumerate(stream)}
        assert all(read_at[int(f)] <= i + 5 - 1 for i, f in enumerate(order[:len(order) - 5]))
        assert order.tolist() != stream.tolist(), "the buffer did not mix"
        assert buffered_order(shards, 1, torch.Generator().manual_seed(9), torch.Generator(), rank, 2).tolist() == \
            stream.tolist()
        seen.append(set(order.tolist()))
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 40


@pytest.mark.parametrize("faces", [range(3, 50), range(9, 37)])
def test_every_rank_serves_the_same_number_of_batches(sharded, faces):
    """Whichever shards a rank gets, it serves the faces of the smallest shards it could get, cut into batches:
    also for a subset that leaves whole shards out (here shards 1 to 5 of 8)."""
    _, disk = sharded
    idx = torch.tensor(list(faces))
    data = DeviceFaces(disk.subset(idx), CPU, shuffle_buffer=6)
    counts = sorted(torch.bincount(idx // 7).tolist())
    counts = [c for c in counts if c]
    assert data.shuffled_steps(2, World(0, 3)) == sum(counts[:len(counts) // 3]) // 2 > 0
    for epoch_seed in range(4):
        served = [len(list(data.shuffled(2, torch.Generator().manual_seed(epoch_seed), world=World(r, 3))))
                  for r in range(3)]
        assert served == [data.shuffled_steps(2, World(0, 3))] * 3
    gens = [torch.Generator().manual_seed(5) for _ in range(3)]
    for rank, gen in enumerate(gens):
        list(data.shuffled(2, gen, world=World(rank, 3)))
    assert all(torch.equal(g.get_state(), gens[0].get_state()) for g in gens), "the ranks' shared generators diverged"


# ---- through the training script -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "toy"
    code = call("prepare_data", ["--dataset", "toy", "--n_toy", "90", "--resize", "32", "--shard_size", "20",
                                 "--out", out], _NoCapture())[0]
    assert code == 0
    return out


class _NoCapture:
    def readouterr(self):
        return "", ""


def train_flags(shards, out, buffer: int) -> list:
    return ["--shards", shards, "--n_epochs", 2, "--batch_size", 8, "--checkpoint_steps", 3, "--jitter", 0.1,
            "--shuffle_buffer", buffer, "--base_channels", 8, "--eval_every", 1, "--out", out]


@pytest.mark.parametrize("buffer", [0, 12])
def test_a_run_resumed_within_an_epoch_ends_bit_for_bit(toy_shards, tmp_path, monkeypatch, capsys, buffer):
    """Stopped at step 7 of epoch 2 (its last checkpoint: step 6), then resumed: the weights, the optimizer and
    every epoch's training terms equal a straight run's bit for bit."""
    code, _, err = call("cvae", train_flags(toy_shards, tmp_path / "straight", buffer), capsys)
    assert code == 0, err
    original = Trainer.checkpoint_within

    def stop_after(self, step, terms, sizes):
        original(self, step, terms, sizes)
        if self.epoch == 1 and step == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "checkpoint_within", stop_after)
    code, _, err = call("cvae", train_flags(toy_shards, tmp_path / "stopped", buffer), capsys)
    assert code == 130, err
    assert load_checkpoint(tmp_path / "stopped/checkpoints/last.pt")["position"]["step"] == 6
    monkeypatch.setattr(Trainer, "checkpoint_within", original)
    code, out, err = call("cvae", ["--resume", "--out", tmp_path / "stopped"], capsys)
    assert code == 0, err
    a = load_checkpoint(tmp_path / "straight/checkpoints/last.pt")
    b = load_checkpoint(tmp_path / "stopped/checkpoints/last.pt")
    assert "position" not in b and a["epoch"] == b["epoch"] == 2
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for k, v in a["optimizers"]["model"]["state"].items():
        assert all(torch.equal(v[s], b["optimizers"]["model"]["state"][k][s]) for s in v)
    terms = [k for k in a["history"][0] if k.startswith(("train_", "val_"))]
    assert [[r[k] for k in terms] for r in a["history"]] == [[r[k] for k in terms] for r in b["history"]]
    disk = load_shards(toy_shards, [])
    for faces in Run.load(tmp_path / "straight").faces():  # what a script that analyses the run gets: tensors
        at = torch.tensor([disk.names.index(name) for name in faces.names])
        assert isinstance(faces.images, torch.Tensor) and torch.equal(faces.images, disk.images.read(at))


def test_a_truncated_or_corrupt_shard_is_named_in_one_line(toy_shards, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in toy_shards.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    shard = broken / "faces-00002.npy"
    good = shard.read_bytes()
    shard.write_bytes(good[:-100])
    code, _, err = call("cvae", ["--shards", broken, "--n_epochs", 1, "--out", tmp_path / "r1"], capsys)
    refusal(code, err, "faces-00002.npy", "truncated", "prepare_data.py")
    shard.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one bit flipped in the last face
    code, _, err = call("cvae", ["--shards", broken, "--n_epochs", 1, "--shuffle_buffer", 0, "--out",
                                 tmp_path / "r2"], capsys)
    refusal(code, err, "faces-00002.npy", "corrupt", "prepare_data.py")
    manifest = json.loads((broken / "shards.json").read_text())
    manifest["n"] += 1
    (broken / "shards.json").write_text(json.dumps(manifest))
    code, _, err = call("cvae", ["--shards", broken, "--n_epochs", 1, "--out", tmp_path / "r3"], capsys)
    refusal(code, err, "shards.json", "damaged")


def test_shard_flags_that_contradict_the_shards_are_refused(toy_shards, tmp_path, capsys):
    code, _, err = call("cvae", ["--shards", toy_shards, "--resize", 64, "--out", tmp_path / "r"], capsys)
    refusal(code, err, "--resize 64", "32 px")
    code, _, err = call("cvae", ["--shards", toy_shards, "--data", tmp_path, "--out", tmp_path / "r"], capsys)
    refusal(code, err, "drop --data")
    code, _, err = call("cvae", ["--shards", tmp_path, "--out", tmp_path / "r"], capsys)
    refusal(code, err, "shards.json", "prepare_data.py")


def torchrun_cvae(*args, script: str = "cvae.py") -> subprocess.CompletedProcess:
    """``script`` under torchrun with 2 processes (one thread each) on this machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--rdzv-backend", "c10d",
                           "--rdzv-endpoint", f"127.0.0.1:{port}", "--nproc-per-node", "2", script, *map(str, args)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_processes_resumed_within_an_epoch_end_bit_for_bit(toy_shards, tmp_path):
    """torchrun, 2 processes reading their own shards through the buffer: stopped on every rank after the
    checkpoint at step 3 of epoch 2 and resumed, the run ends with a straight run's weights and losses."""
    flags = ["--shards", toy_shards, "--n_epochs", 2, "--batch_size", 4, "--checkpoint_steps", 3,
             "--shuffle_buffer", 12, "--base_channels", 8, "--eval_every", 1]
    straight = torchrun_cvae(*flags, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    stopped = torchrun_cvae(3, *flags, "--out", tmp_path / "stopped", script="tests/shard_stop_worker.py")
    assert stopped.returncode != 0, stopped.stderr[-3000:]
    assert load_checkpoint(tmp_path / "stopped/checkpoints/last.pt")["position"]["step"] == 3
    resumed = torchrun_cvae("--resume", "--out", tmp_path / "stopped")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = load_checkpoint(tmp_path / "straight/checkpoints/last.pt")
    b = load_checkpoint(tmp_path / "stopped/checkpoints/last.pt")
    assert a["world_size"] == b["world_size"] == 2 and a["epoch"] == b["epoch"] == 2
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]


def test_prepared_real_faces_are_the_faces_training_decodes(tmp_path, capsys):
    """prepare_data.py on a UTKFace-style folder writes exactly the faces, conditions and names the in-memory path
    decodes from it; without --data it refuses in one line."""
    images, labels = make_toy_dataset(tmp_path / "toy", n=60, size=48)
    code, _, err = call("prepare_data", ["--dataset", "utkface", "--data", images, "--labels", labels, "--resize", 32,
                                         "--shard_size", 50, "--out", tmp_path / "utk"], capsys)
    assert code == 0, err
    disk = load_shards(tmp_path / "utk", ["smile", "age"])
    memory = load_dataset(dataset="utkface", data=images, labels=labels, size=32, channels=3,
                          conditions=["smile", "age"], cache_dir=None)
    assert torch.equal(disk.images.read(torch.arange(len(disk))), memory.images)
    assert torch.equal(disk.cond, memory.cond) and disk.names == memory.names
    code, _, err = call("prepare_data", ["--dataset", "celeba", "--resize", 32, "--out", tmp_path / "c"], capsys)
    refusal(code, err, "--dataset celeba", "--data")
