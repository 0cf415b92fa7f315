"""The semi-supervised CVAE (M2 with a continuous smile degree) and the mixed labelled / unlabelled batches."""

import math
from collections import Counter

import pytest
import torch

from facegen.core.files import load_checkpoint
from facegen.core.seeding import seed_everything
from facegen.data.batches import DeviceFaces
from facegen.data.faceset import FaceSet
from facegen.models.registry import build_model
from facegen.runs import LAST, prepare_run_dir
from facegen.train.trainer import TrainConfig, Trainer

CPU = torch.device("cpu")


def model(alpha: float = 50.0, cond_dim: int = 1):
    torch.manual_seed(0)
    return build_model("sscvae", dict(size=32, channels=3, latent_size=4, cond_dim=cond_dim, base_channels=8,
                                             label_weight=alpha))


def mixed_faces(n_labelled: int = 24, n_unlabelled: int = 72, size: int = 32) -> FaceSet:
    """Learnable images (a bright blob whose height is the smile degree); the first faces carry their degree."""
    g = torch.Generator().manual_seed(0)
    n = n_labelled + n_unlabelled
    y = torch.rand(n, 1, generator=g) * 2 - 1
    img = torch.rand(n, 3, 1, 1, generator=g) * torch.linspace(0, 1, size)[None, None, :, None].expand(n, 3, size, size)
    for i, r in enumerate(((y[:, 0] + 1) / 2 * (size - 8)).long().tolist()):
        img[i, :, r:r + 6, size // 2 - 3:size // 2 + 3] = 1.0
    labelled = torch.arange(n) < n_labelled
    cond = torch.where(labelled[:, None], y, torch.zeros_like(y))
    return FaceSet((img * 255).round().to(torch.uint8), cond, ["smile"], labelled, [f"{i}.png" for i in range(n)])


def test_inferred_degree_stays_in_range():
    net = model()
    x = torch.rand(16, 3, 32, 32)
    for scale in (1.0, 1e3, -1e3):
        with torch.no_grad():
            net.smile_head.weight.mul_(scale)
            degree = net.predict_smile(x)
            drawn = 2 * net.smile_posterior(x).sample() - 1
        assert degree.shape == (16,)
        assert torch.all(degree.abs() <= 1) and torch.all(drawn.abs() <= 1)


def test_unlabelled_faces_train_the_head_through_the_drawn_degree():
    x, y = torch.rand(8, 3, 32, 32), torch.zeros(8, 1)
    net = model(alpha=0.0)
    net.loss(x, y, torch.ones(8, dtype=torch.bool))["loss"].backward()  # labelled, no supervised term: no path
    assert net.smile_head.weight.grad is None or net.smile_head.weight.grad.abs().sum() == 0
    net = model(alpha=0.0)
    out = net.loss(x, y, torch.zeros(8, dtype=torch.bool))
    out["recon"].backward()  # the reconstruction alone reaches q(y|x) only through the reparameterised y
    assert net.smile_head.weight.grad.abs().sum() > 0
    assert out["sup"] == 0


def test_the_y_kl_is_q_y_against_the_uniform_prior_averaged_over_unlabelled_faces():
    """kl_y = KL(q(b|x) || U(0, 1)) = integral of q log q over [0, 1], integrated numerically here, averaged over
    the unlabelled faces only; the labelled faces' mean -log q(y|x) is ``sup``."""
    x, y = torch.rand(8, 3, 32, 32), torch.rand(8, 1) * 2 - 1
    labelled = torch.arange(8) < 3
    net = model()
    out = net.loss(x, y, labelled)
    with torch.no_grad():
        q = net.smile_posterior(x)
        b = torch.linspace(0, 1, 100_001, dtype=torch.float64)[1:-1, None]
        density = torch.distributions.Beta(q.concentration1.double(), q.concentration0.double()).log_prob(b).exp()
        kl = torch.trapezoid(torch.where(density > 0, density * density.log(), 0.0), b[:, 0], dim=0)
        nll = math.log(2) - q.log_prob(((y[:, 0] + 1) / 2).clamp(5e-4, 1 - 5e-4))  # LABEL_EPS / 2 inside
    assert out["kl_y"].item() == pytest.approx(float(kl[~labelled].mean()), rel=1e-4)
    assert out["sup"].item() == pytest.approx(float(nll[labelled].mean()), rel=1e-5)


def test_supervised_term_and_known_extra_conditions():
    x = torch.rand(6, 3, 32, 32)
    y = torch.tensor([[0.9, 1.0], [-1.0, -1.0], [0.2, 1.0]] * 2)
    labelled = torch.tensor([True, True, True, False, False, False])
    net = model(cond_dim=2)
    seen = {}
    net.encoder.register_forward_pre_hook(lambda mod, args: seen.update(y=args[1].clone()))
    out = net.loss(x, y, labelled)
    assert torch.isfinite(out["loss"]) and out["sup"] > 0
    assert torch.equal(seen["y"][:3], y[:3])  # labelled faces use their degree
    assert torch.equal(seen["y"][3:, 1], y[3:, 1])  # gender / age of unlabelled faces come from their names
    assert not torch.equal(seen["y"][3:, 0], y[3:, 0])  # only the smile is inferred


def test_mixed_batches_hold_the_set_ratio_and_cover_the_unlabelled_faces_once():
    faces = DeviceFaces(mixed_faces(n_labelled=10, n_unlabelled=100), CPU)
    batches = list(faces.mixed(8, torch.Generator().manual_seed(0), 0.25))
    assert len(batches) == faces.mixed_split(8, 0.25)[2] == 17  # ceil(100 / 6)
    assert all(int(b.labelled.sum()) == 2 for b in batches)
    assert all(b.x.shape[0] == 8 for b in batches[:-1])
    unl = torch.cat([b.x[~b.labelled] for b in batches])
    assert unl.shape[0] == 100 and torch.unique(unl.flatten(1).sum(1)).numel() > 90
    again = list(faces.mixed(8, torch.Generator().manual_seed(0), 0.25))
    assert all(torch.equal(a.x, b.x) for a, b in zip(batches, again, strict=True))


def test_every_labelled_face_is_seen_about_equally_often():
    data = mixed_faces(n_labelled=7, n_unlabelled=90)
    data.cond[:7, 0] = torch.linspace(-0.9, 0.9, 7)  # tell the labelled faces apart by their degree
    faces = DeviceFaces(data, CPU)
    counts = Counter(round(v, 3) for b in faces.mixed(10, torch.Generator().manual_seed(1), 0.3, flip=False)
                     for v in b.y[b.labelled, 0].tolist())
    assert len(counts) == 7 and max(counts.values()) - min(counts.values()) <= 1


def make_trainer(out, n_epochs: int) -> Trainer:
    seed_everything(0)
    train, val = mixed_faces().split(0.25, seed=0)
    cfg = TrainConfig(n_epochs=n_epochs, lr=2e-3, batch_size=8, eval_every=1, seed=0, labeled_fraction=0.25)
    return Trainer(model(), train, val, cfg, out, CPU, {"test": True})


def test_semi_supervised_resume_equals_a_straight_run(tmp_path):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    for d in (straight, stopped):
        prepare_run_dir(d, resume=False)
    make_trainer(straight, 3).fit()
    make_trainer(stopped, 1).fit()
    resumed = make_trainer(stopped, 3)
    resumed.resume()
    resumed.fit()
    a, b = load_checkpoint(straight / LAST), load_checkpoint(stopped / LAST)
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
