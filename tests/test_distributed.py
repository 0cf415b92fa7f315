"""Training on several processes (torchrun, gloo on the CPU): disjoint shards, identical ranks, the same
training as one process at the global batch, and the training scripts under the multi-machine torchrun command.

Every launch uses the README's multi-machine form (``--nnodes 1 --node-rank 0 --rdzv-backend c10d
--rdzv-endpoint 127.0.0.1:PORT --nproc-per-node 2``); the launches are few and shared between tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from facegen.core.distributed import World
from facegen.core.files import load_checkpoint
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.models.base import adam
from facegen.runs import LAST, prepare_run_dir
from tests.ddp_worker import BATCH, EPOCHS, MODELS, batchnorm_inputs, make_trainer

ROOT = Path(__file__).resolve().parents[1]
WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str, check: bool = True, nproc: int = WORLD) -> subprocess.CompletedProcess:
    """``torchrun`` with ``nproc`` (2) processes on this machine, in the multi-machine form, from the repository
    root."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--node-rank", "0",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--nproc-per-node",
           str(nproc), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


# ---- shards (in-process) --------------------------------------------------------------------------------------
def numbered_faces(n: int, n_labelled: int | None = None) -> DeviceFaces:
    """Faces whose condition is their index, so a batch tells which faces it holds."""
    labelled = torch.zeros(n, dtype=torch.bool)
    labelled[:n if n_labelled is None else n_labelled] = True
    faces = FaceSet(torch.zeros(n, 1, 4, 4, dtype=torch.uint8), torch.arange(n, dtype=torch.float32)[:, None],
                    ["index"], labelled, [str(i) for i in range(n)])
    return DeviceFaces(faces, torch.device("cpu"))


def epoch_indices(faces: DeviceFaces, rank: int, batch: int, gen_state: torch.Tensor,
                  mixed: bool) -> list[torch.Tensor]:
    """Per step, the indices of the faces one rank trains on, with every rank's generator in the same state."""
    gen = torch.Generator()
    gen.set_state(gen_state)
    world = World(rank=rank, size=WORLD)
    batches = faces.mixed(batch, gen, 0.25, world=world) if mixed else faces.shuffled(batch, gen, world=world)
    return [b.y[~b.labelled, 0].long() if mixed else b.y[:, 0].long() for b in batches]


@pytest.mark.parametrize("n,batch,n_labelled", [(37, 8, None), (40, 8, None), (34, 16, None), (10, 3, None),
                                                (69, 8, 20), (60, 8, 20)])
def test_shards_are_disjoint_cover_the_epoch_and_are_reshuffled(n, batch, n_labelled):
    """Plain batches: no face on both ranks, at most world_size - 1 left out. Mixed (semi-supervised) batches:
    every unlabelled face exactly once per epoch (49 unlabelled: the last step has 1, so one rank gets none)."""
    mixed = n_labelled is not None
    faces = numbered_faces(n, n_labelled)
    gen = torch.Generator().manual_seed(0)
    epochs = []
    for _ in range(2):
        state = gen.get_state()
        ranks = [epoch_indices(faces, r, batch, state, mixed) for r in range(WORLD)]
        steps = (faces.mixed_split(batch, 0.25, World(0, WORLD))[2] if mixed
                 else faces.shuffled_steps(batch, World(0, WORLD)))
        assert len(ranks[0]) == len(ranks[1]) == steps  # the same number of steps on every rank: no hang
        seen = torch.cat([torch.cat(r) for r in ranks])
        assert len(seen) == len(set(seen.tolist())), "a face went to both ranks"
        if mixed:
            assert sorted(seen.tolist()) == list(range(n_labelled, n))
        else:
            assert n - len(seen) <= WORLD - 1, f"{n - len(seen)} faces left out of the epoch"
        epochs.append([torch.cat(r) for r in ranks])
        world = World(0, WORLD)  # the trainer's generator moves on by one epoch
        list(faces.mixed(batch, gen, 0.25, world=world) if mixed else faces.shuffled(batch, gen, world=world))
    for r in range(WORLD):
        assert set(epochs[0][r].tolist()) != set(epochs[1][r].tolist()), "the shard is not reshuffled"


@pytest.mark.parametrize("mixed", [False, True])
def test_the_ranks_together_train_on_the_global_batch_of_one_process(mixed):
    """Step by step, the union of the ranks' batches (and their flips) is the one-process batch at world
    size times the batch, drawn from the same generator: the basis of the batch-size equivalence."""
    n, batch = 72, 8
    faces = numbered_faces(n, n_labelled=20 if mixed else None)
    faces.images = torch.rand(n, 1, 4, 4).mul(255).to(torch.uint8)  # asymmetric pixels, so a flip shows
    state = torch.Generator().manual_seed(3).get_state()
    gen = torch.Generator()
    gen.set_state(state)
    world_one = (faces.mixed(WORLD * batch, gen, 0.25) if mixed else faces.shuffled(WORLD * batch, gen))
    per_rank = []
    for r in range(WORLD):
        g = torch.Generator()
        g.set_state(state)
        per_rank.append(list(faces.mixed(batch, g, 0.25, world=World(r, WORLD)) if mixed
                             else faces.shuffled(batch, g, world=World(r, WORLD))))
    one = list(world_one)
    assert len(one) == len(per_rank[0]) == len(per_rank[1])
    for step, b in enumerate(one):
        parts = [per_rank[r][step] for r in range(WORLD)]
        both = torch.cat([p.y[:, 0] for p in parts])
        assert sorted(both.tolist()) == sorted(b.y[:, 0].tolist())
        order = b.y[:, 0].argsort()
        joined = torch.cat([p.x for p in parts])[torch.cat([p.y[:, 0] for p in parts]).argsort()]
        torch.testing.assert_close(joined, b.x[order], rtol=0, atol=0)  # the same flips
        if mixed:
            assert sum(int(p.labelled.sum()) for p in parts) == int(b.labelled.sum())
    if mixed:  # every unlabelled face exactly once per epoch, on one rank
        unl = torch.cat([p.y[~p.labelled, 0] for r in range(WORLD) for p in per_rank[r]])
        assert sorted(unl.long().tolist()) == list(range(20, n))


# ---- training under torchrun ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def worker_runs(tmp_path_factory) -> Path:  # torchrun processes: the tests that use it are marked slow
    """tests/ddp_worker.py under torchrun: an AE and a CVAE, 2 epochs, 2 processes at batch 8 each."""
    out = tmp_path_factory.mktemp("ddp_worker")
    torchrun("tests/ddp_worker.py", str(out))
    return out


@pytest.mark.slow
def test_gradient_averaging_and_global_batchnorm_match_one_process(worker_runs):
    """Brute force: each rank's share of the global batch through GlobalBatchNorm2d gives that share of what
    torch's BatchNorm2d gives on the whole batch (output, input gradient, running statistics), and the
    rank-summed weight and bias gradients are the whole batch's; averaging gradients rank + 1 gives 1.5."""
    ranks = [torch.load(worker_runs / f"collectives{r}.pt") for r in range(WORLD)]
    inputs = batchnorm_inputs(WORLD)
    bn = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.weight.copy_(inputs["weight"])
        bn.bias.copy_(inputs["bias"])
    x = inputs["x"].clone().requires_grad_()
    y = bn(x)
    (y * inputs["w"]).sum().backward()
    for r, got in enumerate(ranks):
        torch.testing.assert_close(got["avg_grad"], torch.full((3,), 1.5), rtol=0, atol=0)
        rows = slice(r * 3, (r + 1) * 3)
        torch.testing.assert_close(got["y"], y[rows].detach(), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got["x_grad"], x.grad[rows], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got["running_mean"], bn.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got["running_var"], bn.running_var, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ranks[0]["weight_grad"] + ranks[1]["weight_grad"], bn.weight.grad, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ranks[0]["bias_grad"] + ranks[1]["bias_grad"], bn.bias.grad, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_parameters_and_batchnorm_statistics_are_identical_on_every_rank(worker_runs, model):
    states = [torch.load(worker_runs / model / f"rank{r}.pt") for r in range(WORLD)]
    fresh = make_trainer(worker_runs / "unused", model, BATCH).model.state_dict()  # the same seed, untrained
    assert list(states[0]) == list(fresh)  # global-batch BatchNorm keeps the state dict's keys
    buffers = [k for k in fresh if "running_" in k or "num_batches_tracked" in k or k.endswith("initialized")]
    assert buffers  # BatchNorm's statistics, or a flow's ActNorm flags (initialised from the global first batch)
    for key in fresh:
        torch.testing.assert_close(states[1][key], states[0][key], rtol=0, atol=0, msg=key)
    for key in [k for k in fresh if k.endswith("weight") or "running_" in k]:
        assert not torch.equal(states[0][key], fresh[key]), f"{key} did not train"
    for key in [k for k in buffers if k.endswith("initialized")]:
        assert bool(states[0][key]) and not bool(fresh[key]), key
    for key in [k for k in buffers if k.endswith("num_batches_tracked")]:
        passes = 2 if model == "dcgan" and key.startswith("discriminator") else 1  # D: once for its step, once for G's
        assert int(states[0][key]) == passes * EPOCHS * 5, key  # 36 faces per rank at 8 a step: 5 steps an epoch


@pytest.mark.slow
def test_two_processes_at_batch_b_train_as_one_process_at_batch_2b(worker_runs, tmp_path):
    """The AE has no sampling noise, so the runs differ only in the order floats are summed (the all-reduces):
    the epoch losses agree to rtol 1e-5 (seen: 1e-8) and the weights after 10 Adam steps to atol 1e-5 (seen:
    4e-7). Per-rank BatchNorm, or summed instead of averaged gradients, break both by orders of magnitude."""
    prepare_run_dir(tmp_path, resume=False)
    one = make_trainer(tmp_path, "ae", WORLD * BATCH)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each torchrun process (OMP_NUM_THREADS=1); 2 threads crawl on a busy 2-core box
    try:
        history = one.fit()
    finally:
        torch.set_num_threads(threads)
    two = load_checkpoint(worker_runs / "ae" / LAST)
    assert two["world_size"] == WORLD and two["epoch"] == EPOCHS
    keys = [k for k in history[0] if k.startswith(("train_", "val_"))]
    for r1, r2 in zip(history, two["history"], strict=True):
        for k in keys:
            assert r2[k] == pytest.approx(r1[k], rel=1e-5, abs=1e-12), k
    for key, value in one.model.state_dict().items():
        torch.testing.assert_close(two["model"][key], value, rtol=0, atol=1e-5, msg=key)


def test_cpu_adam_is_exact_whatever_the_gradients_memory_layout():
    """The project's Adam on the CPU (multi-tensor) gives the same step for a channels_last weight whether its
    gradient is channels_last or contiguous. torch 2.14's fused CPU kernel does not (3 steps at lr 1e-3 land up to
    6e-3 away: it updates the wrong elements), one more reason, beside the 2-process drift the test above
    measures, that Adam is not fused on the CPU."""
    w, g = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(0)), torch.randn(8, 4, 3, 3)
    steps = {}
    for layout in (torch.channels_last, torch.contiguous_format):
        p = torch.nn.Parameter(w.clone().to(memory_format=torch.channels_last))
        opt = adam([p], 1e-3, torch.device("cpu"))
        assert not opt.defaults["fused"]
        for _ in range(3):
            p.grad = g.clone().to(memory_format=layout)
            opt.step()
        steps[layout] = p.detach()
    assert torch.equal(steps[torch.channels_last], steps[torch.contiguous_format])


# ---- the training script under torchrun -----------------------------------------------------------------------
def script_args(tmp: Path, out: str, *extra: str) -> list[str]:
    return ["--dataset", "toy", "--toy_dir", str(tmp / "toy"), "--toy_n", "64", "--resize", "32",
            "--cache_dir", str(tmp / "cache"), "--latent_size", "4", "--base_channels", "8", "--batch_size", "8",
            "--out", str(tmp / out), *extra]


@pytest.fixture(scope="module")
def script_runs(tmp_path_factory) -> dict:
    """cvae.py under torchrun: 2 epochs into a run folder (its files read before it goes on), that run resumed
    to 3 epochs, and a straight 3-epoch run."""
    tmp = tmp_path_factory.mktemp("ddp_script")
    first = torchrun("cvae.py", *script_args(tmp, "stopped", "--n_epochs", "2"))
    after_two = {"flags": json.loads((tmp / "stopped" / "flags.json").read_text()),
                 "csv": (tmp / "stopped" / "training.csv").read_text(), "stdout": first.stdout}
    resumed = torchrun("cvae.py", "--resume", "--out", str(tmp / "stopped"), "--n_epochs", "3")
    torchrun("cvae.py", *script_args(tmp, "straight", "--n_epochs", "3"))
    return {"tmp": tmp, "after_two": after_two, "resumed_stdout": resumed.stdout}


@pytest.mark.slow
def test_training_script_runs_under_torchrun(script_runs):
    after = script_runs["after_two"]
    assert after["flags"]["world_size"] == WORLD
    assert after["csv"].strip().count("\n") == 2  # header + 2 epochs
    assert "2 processes, global batch 16" in after["stdout"]
    assert "resuming" in script_runs["resumed_stdout"] and "at epoch 2" in script_runs["resumed_stdout"]


@pytest.mark.slow
def test_resumed_torchrun_run_equals_a_straight_one(script_runs):
    tmp = script_runs["tmp"]
    a, b = load_checkpoint(tmp / "stopped" / LAST), load_checkpoint(tmp / "straight" / LAST)
    assert a["epoch"] == b["epoch"] == 3 and a["world_size"] == b["world_size"] == WORLD
    assert len(a["rng"]) == WORLD  # every rank's random state
    for key in b["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    assert (tmp / "stopped" / "training.csv").read_text().strip().count("\n") == 3


@pytest.mark.slow
def test_resume_with_another_number_of_processes_is_one_line(script_runs, capsys):
    import cvae
    from facegen.cli.args import guard

    tmp = script_runs["tmp"]
    before = (tmp / "stopped" / LAST).read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        guard(lambda: cvae.main(["--resume", "--out", str(tmp / "stopped"), "--n_epochs", "4"]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "2 process(es)" in err and "2 processes in all" in err
    assert (tmp / "stopped" / LAST).read_bytes() == before


@pytest.mark.slow
def test_torchrun_with_another_number_of_processes_puts_the_one_line_first(script_runs):
    """torch gives no hook before its workers start, so the check runs in them: the project's line comes first,
    then torchrun's own report of the failed worker (ChildFailedError), as the README says."""
    tmp = script_runs["tmp"]
    proc = torchrun("cvae.py", "--resume", "--out", str(tmp / "stopped"), "--n_epochs", "4", check=False, nproc=1)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    ours = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    theirs = [i for i, line in enumerate(lines) if "ChildFailedError" in line]
    assert proc.returncode != 0 and len(ours) == 1 and "resume with 2 processes in all" in lines[ours[0]], proc.stderr
    assert not theirs or ours[0] < theirs[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "ChildFailedError" in readme and "resume with 2 processes in all" in readme
