"""The Glow model on the one trainer: bits/dim falls, bit-exact resume (ActNorm's init included), non-finite steps
skipped and counted, sizes refused in one line, the exact encode / decode round trip, and the exploration scripts
on a flow run."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import changing_smiles
import glow
import latent_analysis
import sample_prior
from facegen.analysis.evaluation import metrics
from facegen.analysis.latent.attribute_faces import attribute_faces
from facegen.cli.args import guard
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.data.batches import Batch
from facegen.losses.likelihood import quantise
from facegen.models.base import OptimSettings
from facegen.models.flow.glow import EpochReport, GlowConfig, GlowModel, WarmupThenDecay
from facegen.runs import LAST, Run
from tests.fakes import CELEBA_ATTRIBUTES, write_celeba
from tests.helpers import run_in_process, written

EPOCHS = 4  # 9 steps each on 144 toy faces: 36 steps


def flow_args(root: Path, out: str, epochs: int = EPOCHS, *extra: str) -> list[str]:
    """A seconds-long Glow run on 160 toy faces at 32 px (validation after epoch 1 and the last one)."""
    return ["--dataset", "toy", "--toy_dir", str(root / "toy"), "--toy_n", "160", "--resize", "32",
            "--cache_dir", str(root / "cache"), "--levels", "2", "--steps", "2", "--hidden", "16", "--n_bits", "5",
            "--batch_size", "16", "--lr", "2e-3", "--warmup_steps", "10", "--n_epochs", str(epochs),
            "--eval_every", "100", "--out", str(root / out), *extra]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The tiny flows here are hundreds of small ops per step: one thread runs them 10-60x faster than two on a
    loaded 2-core machine, where every op's thread barrier waits for a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def flow_run(toy_root) -> Path:
    """A conditional Glow (the toy faces' smile degree) trained for EPOCHS epochs."""
    return glow.main(flow_args(toy_root, "glow"))


def tiny_model(n_bits: int = 8, cond_dim: int = 0, **kw) -> GlowModel:
    torch.manual_seed(0)
    return GlowModel(GlowConfig(size=8, channels=3, cond_dim=cond_dim, levels=2, steps=2, hidden=8, n_bits=n_bits,
                                **kw))


def initialised(model: GlowModel, x: torch.Tensor, y: torch.Tensor | None = None) -> GlowModel:
    """ActNorm initialised on x, then every parameter moved a little, so no layer is the identity."""
    model.train()
    model.bits_per_dim(x, y)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model.eval()


# ---- training through glow.py --------------------------------------------------------------------------------------

def test_bits_per_dim_falls_on_toy_faces(flow_run):
    history = load_checkpoint(flow_run / LAST)["history"]
    first, last = history[0], history[-1]
    assert all(math.isfinite(r["train_bpd"]) and r["train_skipped"] == 0 for r in history)
    assert last["val_bpd"] < first["val_bpd"] - 0.3, (first["val_bpd"], last["val_bpd"])
    assert last["train_bpd"] < first["train_bpd"] - 0.3
    assert 0 < last["val_bpd"] < 5  # 5 bits/dim is the uniform density on 5-bit faces
    model = Run.load(flow_run).load_model()
    assert model.conditional and model.cond_dim == 1 and model.latent_size == 3 * 32 * 32
    flags = [m.initialized for m in model.modules() if hasattr(m, "initialized")]
    assert flags and all(bool(f) for f in flags)
    written(flow_run, f"iterations/iter_{EPOCHS}.png", "plots/training.png")


def test_resume_after_a_non_validation_epoch_is_bit_exact(flow_run, toy_root):
    glow.main(flow_args(toy_root, "glow_stopped", 2))  # epoch 2 is no validation epoch of the straight run
    glow.main(flow_args(toy_root, "glow_stopped", EPOCHS, "--resume"))
    a, b = load_checkpoint(flow_run / LAST), load_checkpoint(toy_root / "glow_stopped" / LAST)
    assert set(a["model"]) == set(b["model"]) and any(k.endswith("initialized") for k in a["model"])
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    assert str(a["optimizers"]) == str(b["optimizers"]) and a["schedulers"] == b["schedulers"]
    assert [r["train_bpd"] for r in a["history"]] == [r["train_bpd"] for r in b["history"]]
    assert a["history"][-1]["val_bpd"] == b["history"][-1]["val_bpd"]


def test_sizes_not_divisible_by_two_to_the_levels_are_refused_in_one_line(toy_root, capsys):
    args = flow_args(toy_root, "glow_bad", 1)
    args[args.index("--resize") + 1] = "36"
    args[args.index("--levels") + 1] = "3"
    with pytest.raises(SystemExit) as stop:
        guard(lambda: glow.main(args))  # what `python glow.py ARGS` runs
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(lines) == 1, lines
    assert "--resize 36" in lines[0] and "divisible by 2**levels = 8" in lines[0] and "--resize 32" in lines[0]
    with pytest.raises(FacegenError, match="--resize 48 is not divisible by 2\\*\\*levels = 32"):
        GlowConfig(size=48, levels=5).check()


def test_every_suggested_fix_of_a_size_is_one_that_is_accepted():
    """No suggestion outside --resize's 32-128 (levels 9 at 64 px once suggested --resize 512)."""
    for size in range(32, 129):
        for levels in range(1, 10):
            try:
                GlowConfig(size=size, levels=levels).check()
                continue
            except FacegenError as e:
                message = str(e)
            sizes = [int(v) for v in re.findall(r"--resize (\d+) \(a multiple", message)]
            fewer = [int(v) for v in re.findall(r"--levels (\d+) or fewer", message)]
            both = [(int(a), int(b)) for a, b in re.findall(r"--resize (\d+) with --levels (\d+)", message)]
            assert sizes or fewer or both, message
            for s, k in both:
                GlowConfig(size=s, levels=k).check()
            for s in sizes:
                GlowConfig(size=s, levels=levels).check()
                assert 32 <= s <= 128
            for k in fewer:
                GlowConfig(size=size, levels=k).check()


# ---- the model's maths ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_bits", [8, 5])
def test_encode_decode_round_trip_returns_the_face_at_n_bits(n_bits):
    """decode(encode(x)) is x quantised to n bits, exactly: the float32 round trip of the flow is within 1e-4 of the
    bin centre (tested in test_flow.py to 1e-5), far inside the half-bin 2^-(n+1) >= 1/512."""
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (6, 3, 8, 8), generator=g).float() / 255
    y = torch.rand(6, 2, generator=g) * 2 - 1
    model = initialised(tiny_model(n_bits, cond_dim=2), x, y)
    with torch.no_grad():
        eps, logvar = model.encode(x, y)
        back = model.decode(eps, y)
        centres = model.flow.decode(eps, y)
    assert logvar is None and eps.shape == (6, model.latent_size) and model.latent_size == 3 * 8 * 8
    assert (centres - model.bin_centres(x)).abs().max() < 1e-4
    assert torch.equal(back, quantise(x, n_bits).float() / (2**n_bits - 1))
    if n_bits == 8:
        assert torch.equal(back, x)


def test_log_likelihood_and_bits_per_dim_agree():
    x = torch.rand(4, 3, 8, 8)
    model = initialised(tiny_model(5), x)
    torch.manual_seed(3)
    bpd = model.bits_per_dim(x)
    torch.manual_seed(3)
    ll = model.log_likelihood(x)
    torch.testing.assert_close(ll, -bpd * 3 * 8 * 8 * math.log(2))


class RecordingStep:
    """The trainer's Step reduced to counting updates on plain SGD."""

    def __init__(self, model: GlowModel):
        self.opt = torch.optim.SGD(model.parameters(), lr=0.1)
        self.updates = 0

    def autocast(self):
        return torch.autocast("cpu", enabled=False)

    def all_reduce_mean(self, tensor):
        return tensor.detach()  # one process

    def update(self, loss, optimizer, retain_graph=False):
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.updates += 1


def test_a_non_finite_step_is_skipped_counted_and_leaves_the_weights(monkeypatch):
    torch.manual_seed(0)
    model = tiny_model(5, max_bad_steps=3)
    step = RecordingStep(model)
    batch = Batch(torch.rand(4, 3, 8, 8), torch.zeros(4, 0), torch.ones(4, dtype=torch.bool))
    model.train()
    model.train_step(batch, step)  # ActNorm init and one update
    before = {k: v.clone() for k, v in model.state_dict().items() if k != "bad_in_a_row"}
    real = model.flow.log_prob
    monkeypatch.setattr(model.flow, "log_prob", lambda x, y=None: real(x, y) * float("nan"))
    out = model.train_step(batch, step)
    assert step.updates == 1 and out["skipped"].item() == pytest.approx(2.0) and int(model.bad_in_a_row) == 1
    for k, v in model.state_dict().items():
        if k != "bad_in_a_row":
            assert torch.equal(v, before[k]), k
    model.train_step(batch, step)
    with pytest.raises(FacegenError, match="3 training steps in a row had a non-finite loss"):
        model.train_step(batch, step)
    monkeypatch.setattr(model.flow, "log_prob", real)
    model.train_step(batch, step)  # a finite step resets the count
    assert step.updates == 2 and int(model.bad_in_a_row) == 0


def test_the_epoch_mean_the_trainer_takes_is_the_mean_of_finite_steps_and_the_skip_count():
    """The trainer logs sum_i w_i r_i / sum_i w_i; with skipped steps (any position, first included) that is the
    w-weighted mean bits/dim of the finite steps, and the number of skipped steps."""
    values = [3.0, float("nan"), 2.5, 2.0, float("inf"), 1.5]
    weights = [8, 8, 8, 8, 8, 3]
    for order in (values, values[1:] + values[:1]):
        report = EpochReport()
        terms = [report.step(torch.tensor(v), v, math.isfinite(v), w) for v, w in zip(order, weights, strict=True)]
        w = torch.tensor(weights, dtype=torch.float64)
        logged = {k: (torch.stack([t[k] for t in terms]).double() @ w / w.sum()).item() for k in ("bpd", "skipped")}
        finite = [(v, wi) for v, wi in zip(order, weights, strict=True) if math.isfinite(v)]
        assert logged["bpd"] == pytest.approx(sum(v * wi for v, wi in finite) / sum(wi for _, wi in finite), rel=1e-6)
        assert logged["skipped"] == pytest.approx(2.0, rel=1e-6)
    report = EpochReport()
    assert report.step(torch.tensor(2.25), 2.25, True, 4)["bpd"].item() == 2.25  # no skip: the step's own value


def test_an_epoch_of_only_skipped_steps_stops_the_run():
    model = tiny_model(5, max_bad_steps=100)
    model._report.step(torch.tensor(float("nan")), float("nan"), False, 4)
    with pytest.raises(FacegenError, match="every one of the epoch's 1 training steps"):
        model.epoch_end()


def test_warm_up_then_the_trainers_decay_per_step():
    f = WarmupThenDecay(warmup=4, decay_every=10, gamma=0.5)
    assert [f(s) for s in (0, 1, 3, 9, 10, 25)] == [0.25, 0.5, 1.0, 1.0, 0.5, 0.25]
    model = tiny_model(warmup_steps=4)
    opt = {"model": torch.optim.SGD(model.parameters(), lr=1.0)}
    sched = model.schedulers(opt, OptimSettings(lr=1.0, lr_step=2, lr_gamma=0.1, steps_per_epoch=3))["model"]
    lrs = []
    for _ in range(8):
        lrs.append(opt["model"].param_groups[0]["lr"])
        opt["model"].step()
        sched.step()
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 0.1, 0.1])  # decay every 2 epochs of 3 steps


# ---- the exploration scripts on a flow run -------------------------------------------------------------------------

def test_sample_prior_at_the_runs_temperature_and_degrees(flow_run):
    sample_prior.main(["--run", str(flow_run), "--n", "4"])  # the run's --temperature 0.7
    sample_prior.main(["--run", str(flow_run), "--degrees", "-1,1", "--n", "3", "--temperature", "0.5"])
    written(flow_run, "sampled/sampled_0_t0.7.png", "sampled/degrees_-1_1.png")


def test_changing_smiles_and_latent_analysis_on_a_flow_run(flow_run):
    changing_smiles.main(["--run", str(flow_run), "--n", "3"])
    latent_analysis.main(["--run", str(flow_run), "--n_pairs", "2", "--steps", "3"])
    written(flow_run, "forcing/forcing_smiles_all.png", "forcing/forcing_smiles_one.png", "plots/latent_forward.png",
            "plots/pca_explained_variance.png", "interp/interp_random.png")


def test_evaluate_reports_held_out_bits_per_dim(flow_run):
    """evaluate.py's likelihood line: the held-out faces' mean bits/dim, as the trainer's validation measures it."""
    run = Run.load(flow_run)
    model = run.load_model()
    result = metrics.likelihood(model, run.faces()[1], seed=0)
    assert result["n_val"] == 16 and result["n_bits"] == 5
    val_bpd = load_checkpoint(flow_run / LAST)["history"][-1]["val_bpd"]
    assert result["val_bits_per_dim"] == pytest.approx(val_bpd, abs=0.05)
    line = metrics.summary({"likelihood": result, "evaluators": {}, "diversity": {
        "samples": 0.1, "real_faces": 0.2, "ratio": 0.5}})[0]
    assert line.startswith("likelihood") and "bits/dim at 5 bits" in line


def test_attribute_vectors_edits_interpolation_and_flip_rates_on_a_celeba_flow_run(tmp_path):
    """On a synthetic CelebA folder: attribute vectors are mean eps with minus without, edits and interpolations
    decode, and evaluate_attributes.py --mean_only judges the vectors without fitting any SVM."""
    images, attrs = write_celeba(tmp_path)
    data = ["--dataset", "celeba", "--data", images, "--attrs", attrs, "--resize", "32", "--cache_dir",
            tmp_path / "cache", "--val_fraction", "0.25"]
    run_in_process("train_feature_net.py", *data, "--n_epochs", "1", "--batch_size", "16", "--out", tmp_path / "net")
    run = tmp_path / "glow"
    run_in_process("glow.py", *data, "--conditions", "", "--levels", "2", "--steps", "1", "--hidden", "8", "--n_bits",
                   "5", "--batch_size", "12", "--n_epochs", "1", "--out", run)
    run_in_process("attribute_vectors.py", "--run", run)
    model = Run.load(run).load_model()
    faces = attribute_faces(Run.load(run))
    with torch.no_grad():
        eps = model.encode(faces.images.float() / 255)[0].double()
    smiling = faces.meta["attrs"][:, CELEBA_ATTRIBUTES.index("Smiling")] > 0
    with np.load(run / "attributes" / "attribute_vectors.npz") as f:
        assert f["vectors"].shape == (40, 3 * 32 * 32)
        np.testing.assert_allclose(f["vectors"][CELEBA_ATTRIBUTES.index("Smiling")],
                                   (eps[smiling].mean(0) - eps[~smiling].mean(0)).numpy(), atol=1e-4)
    run_in_process("modify_attribute.py", "--run", run, "--attribute", "Smiling", "--without", "2", "--amounts",
                   "0:1:0.5")
    run_in_process("interpolate.py", "--run", run, "--pairs", "attribute", "--attribute", "Smiling", "--n_pairs", "2",
                   "--steps", "3")
    run_in_process("evaluate_attributes.py", "--run", run, "--classifier", tmp_path / "net" / "attribute_net.pt",
                   "--attributes", "Smiling,Male", "--n", "4", "--amounts", "0,1", "--mean_only")
    rows = json.loads((run / "attributes" / "evaluation.json").read_text())["rows"]
    assert [(r["attribute"], r["method"], r["amount"]) for r in rows] == [
        (a, "mean difference", amount) for a in ("Smiling", "Male") for amount in (0.0, 1.0)]
    for r in rows:  # an edit of amount 0 is no edit: the flow decodes the very code it encoded
        if r["amount"] == 0:
            assert (r["added_after"], r["removed_after"]) == (r["added_before"], r["removed_before"]), r
            assert r["target_change"] == r["other_change"] == r["other_flips"] == 0, r
    written(run, "attributes/add_Smiling.png", "interp/with_without_Smiling.png")
