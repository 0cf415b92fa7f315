"""The GAN family: DC-GAN networks at every size, the DC-GAN's and the VAE-GAN's training steps against their
definitions, resume bit for bit through the scripts, the exploration scripts on GAN runs, the Fréchet distance
falling while a DC-GAN trains, and bad input as one line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import changing_smiles
import dcgan
import evaluate
import sample_across_axis
import sample_prior
import vaegan
from facegen.analysis.evaluation.sample_quality import NetFeatures, PixelFeatures, feature_vectors, frechet_distance
from facegen.cli.args import guard
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.core.seeding import seed_everything
from facegen.data.batches import Batch
from facegen.data.faceset import FaceSet
from facegen.losses.adversarial import discriminator_terms, generator_loss
from facegen.losses.elbo import kl_to_standard_normal
from facegen.models.gan.common import to_signed
from facegen.models.registry import build_model
from facegen.nn.attrnet import AttributeNet
from facegen.nn.conv import level_sizes
from facegen.nn.dcgan import Discriminator, Generator
from facegen.runs import LAST, Run, prepare_run_dir
from facegen.train.trainer import TrainConfig, Trainer
from tests.fakes import SMALL_GAN, SMALL_VAEGAN, RecordingStep, gan_args
from tests.helpers import refusal, written


# ---- the networks ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 50, 64, 128])
def test_networks_fit_every_size_exactly(size):
    g = Generator(size, 3, latent=5, cond_dim=2, base=4, max_channels=8).eval()
    d = Discriminator(size, 3, cond_dim=2, base=4, max_channels=8).eval()
    z, y = torch.randn(3, 5), torch.rand(3, 2)
    x = g(z, y)
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    logits, feature = d.logits_and_features(x, y, level=2)
    assert logits.shape == (3,) and feature.shape == (3, *d.level_shapes[1])
    assert [s[-1] for s in d.level_shapes] == level_sizes(size)[1:]


def test_dcgan_initialisation_is_normal_0_02():
    torch.manual_seed(0)
    d = Discriminator(64, 3, base=64, max_channels=512)
    w = d.levels[2][0].weight.detach()
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 1e-3
    assert float(d.levels[2][1].weight.std()) < 0.05 and abs(float(d.levels[2][1].weight.mean()) - 1) < 0.01
    assert all(float(b.abs().max()) == 0 for n, b in d.named_parameters() if n.endswith("bias"))


def test_projection_discriminator_is_affine_in_the_condition():
    """D(x, y) = w.h(x) + b + (V y).h(x): D(x, 2 y) - D(x, 0) = 2 (D(x, y) - D(x, 0))."""
    torch.manual_seed(0)
    d = Discriminator(32, 3, cond_dim=2, base=4, max_channels=8).eval()
    x, y = torch.rand(4, 3, 32, 32), torch.randn(4, 2)
    zero = d(x, torch.zeros(4, 2))
    torch.testing.assert_close(d(x, 2 * y) - zero, 2 * (d(x, y) - zero), rtol=1e-4, atol=1e-5)


# ---- the DC-GAN step -------------------------------------------------------------------------------------------
def batch_of(n: int = 6, size: int = 32, cond: int = 1, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 3, size, size, generator=g), torch.rand(n, cond, generator=g) * 2 - 1,
                 torch.ones(n, dtype=torch.bool))


@pytest.mark.parametrize("loss", ["bce", "lsgan", "wgan-gp"])
def test_dcgan_step_gradients_are_those_of_the_losses(loss):
    """The discriminator's gradient is that of L_D on [real, G(z)] in one pass (plus the penalty for wgan-gp,
    whose value is checked against its own definition), the generator's that of L_G through the frozen D."""
    seed_everything(0)
    model = build_model("dcgan", dict(size=32, channels=3, loss=loss, **SMALL_GAN)).train()
    batch = batch_of()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    step = RecordingStep(model, step=False)
    torch.manual_seed(1)
    terms = model.train_step(batch, step)
    assert step.calls == ["disc", "gen"] and int(model.steps) == 1
    model.load_state_dict(state)
    torch.manual_seed(1)
    real = to_signed(batch.x)
    fake = model.generator(torch.randn(6, 6))
    logits = model.discriminator(torch.cat([real, fake.detach()]))
    d_loss = sum(discriminator_terms(loss, logits[:6], logits[6:]))
    if loss == "wgan-gp":
        a = torch.rand(6).view(6, 1, 1, 1)
        x_hat = (a * real + (1 - a) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(model.discriminator(x_hat).sum(), x_hat, create_graph=True)
        gp = 10 * (grad.flatten(1).norm(dim=1) - 1).square().mean()
        torch.testing.assert_close(terms["gp"], gp.detach())
        d_loss = d_loss + gp
    expected = torch.autograd.grad(d_loss, list(model.discriminator.parameters()))
    for got, want in zip(step.grads["disc"], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    both = torch.cat([real, fake]) if loss != "wgan-gp" else fake
    g_logits = model.discriminator(both)[-6:]
    expected = torch.autograd.grad(generator_loss(loss, g_logits), list(model.generator.parameters()))
    for got, want in zip(step.grads["gen"], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(terms["d_loss"], sum(discriminator_terms(loss, logits[:6], logits[6:])).detach())


def test_n_critic_updates_the_generator_every_nth_step_and_ema_follows_it():
    seed_everything(0)
    model = build_model("dcgan", dict(size=32, channels=3, n_critic=3, ema=0.9, **SMALL_GAN)).train()
    step = RecordingStep(model)
    for i in range(6):
        p0 = [p.clone() for p in model.generator.parameters()]
        e0 = [p.clone() for p in model.generator_ema.parameters()]
        step.calls.clear()
        model.train_step(batch_of(seed=i), step)
        assert step.calls == (["disc", "gen"] if i % 3 == 0 else ["disc"])
        p1 = list(model.generator.parameters())
        for a, b, e, f in zip(p0, p1, e0, model.generator_ema.parameters(), strict=True):
            if i % 3 == 0:  # ema <- 0.9 ema + 0.1 p after the generator's step
                torch.testing.assert_close(f, 0.9 * e + 0.1 * b.detach())
            else:
                assert torch.equal(a, b) and torch.equal(e, f)
    assert "generator_ema.fc.weight" in model.state_dict()
    z = torch.randn(2, 6)
    model.eval()
    torch.testing.assert_close(model.decode(z), (model.generator_ema(z).clamp(-1, 1) + 1) / 2)


def test_diffaugment_changes_what_d_sees_in_training_only():
    seed_everything(0)
    model = build_model("dcgan", dict(size=32, channels=3, diffaugment="color,translation,cutout", **SMALL_GAN))
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    model.train()
    assert not torch.allclose(model.judge(x), model.discriminator(x))
    model.eval()
    torch.testing.assert_close(model.judge(x), model.discriminator(x))


# ---- the VAE-GAN step ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,pixel_weight", [("vaegan", 0.0), ("cvaegan", 0.0), ("vaegan", 0.5)])
def test_vaegan_gradients_follow_larsen_and_the_encoder_gets_no_gan_gradient(name, pixel_weight):
    """Encoder: d(F recon + beta KL); decoder: d(gamma recon + L_GAN) through the frozen D; discriminator:
    d(BCE real + BCE fake) on detached fakes, all from one forward (no optimizer steps in between here). With a
    pixel weight w, recon also holds w/2 times the mean squared pixel error."""
    seed_everything(0)
    model = build_model(name, dict(size=32, channels=3, cond_dim=1, beta=0.7, gamma=3.0, disc_layer=2,
                                   margin=1000.0, pixel_weight=pixel_weight, **SMALL_VAEGAN)).train()
    batch = batch_of()
    step = RecordingStep(model, step=False)
    torch.manual_seed(1)
    terms = model.train_step(batch, step)
    assert step.calls == ["disc", "enc", "dec"]
    torch.manual_seed(1)
    x = to_signed(batch.x)
    y = batch.y if model.conditional else None
    y2, y3 = (None, None) if y is None else (torch.cat([y] * 2), torch.cat([y] * 3))
    mu, logvar = model._encode(x, y)
    eps = torch.randn_like(mu)
    z = mu + (0.5 * logvar).exp() * eps
    out = model.decoder(torch.cat([z, torch.randn_like(z)]), y2)
    logits, feats = model.discriminator.logits_and_features(torch.cat([x, out]), y3, 2)
    recon = 0.5 * (feats[6:12] - feats[:6].detach()).square().flatten(1).mean(1).mean()
    recon = recon + pixel_weight * 0.5 * (out[:6] - x).square().mean()
    kl = kl_to_standard_normal(mu, logvar).mean()
    enc = list(model.encoder.parameters()) + list(model.head.parameters())
    expected = torch.autograd.grad(model.n_features * recon + 0.7 * kl, enc, retain_graph=True)
    for got, want in zip(step.grads["enc"], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    dec_loss = 3.0 * recon + generator_loss("bce", logits[6:])
    expected = torch.autograd.grad(dec_loss, list(model.decoder.parameters()), retain_graph=True)
    for got, want in zip(step.grads["dec"], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    d_logits = model.discriminator(torch.cat([x, out.detach()]), y3)
    expected = torch.autograd.grad(sum(discriminator_terms("bce", d_logits[:6], d_logits[6:])),
                                   list(model.discriminator.parameters()))
    for got, want in zip(step.grads["disc"], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(terms["recon"], recon.detach())
    assert terms["skip_disc"] == 0 and terms["skip_dec"] == 0


@pytest.mark.parametrize(("equilibrium", "skip_disc", "skip_dec"), [(100.0, 1, 0), (-100.0, 0, 1)])
def test_the_balance_gate_skips_updates_and_logs_it(equilibrium, skip_disc, skip_dec):
    """A huge equilibrium means D always wins by the margin (its update is skipped); a very negative one means
    it always loses (the decoder's GAN term is skipped); the encoder's update never depends on the gate."""
    seed_everything(0)
    cfg = dict(size=32, channels=3, equilibrium=equilibrium, margin=0.0, **SMALL_VAEGAN)
    model = build_model("vaegan", cfg).train()
    reference = build_model("vaegan", {**cfg, "equilibrium": 0.68, "margin": 1000.0}).train()
    reference.load_state_dict(model.state_dict())
    batch = batch_of()
    d0 = [p.clone() for p in model.discriminator.parameters()]
    for m in (reference, model):
        torch.manual_seed(3)
        terms = m.train_step(batch, RecordingStep(m))
    assert float(terms["skip_disc"]) == skip_disc and float(terms["skip_dec"]) == skip_dec
    d_moved = any(not torch.equal(a, b) for a, b in zip(d0, model.discriminator.parameters(), strict=True))
    assert d_moved == (skip_disc == 0)
    if skip_dec:  # same D update as the reference, so the encoder must come out identical
        for a, b in zip(model.encoder.parameters(), reference.encoder.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert any(not torch.equal(a, b) for a, b in zip(model.decoder.parameters(),
                                                          reference.decoder.parameters(), strict=True))


# ---- through the scripts ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("script", "extra"), [
    (dcgan, ("--conditions", "smile", "--loss", "lsgan", "--ema", "0.9", "--diffaugment", "color,translation",
             "--n_critic", "2", "--jitter", "0.1")),
    (vaegan, ("--e_channels", "8", "--disc_layer", "2")),
])
def test_resume_equals_a_straight_run_bit_for_bit(toy_root, script, extra):
    name = script.__name__
    extra = (*extra, "--batch_size", "32")
    script.main(gan_args(toy_root, f"{name}_straight", 3, *extra))
    script.main(gan_args(toy_root, f"{name}_stopped", 2, *extra))  # epoch 2 is no validation epoch
    script.main(gan_args(toy_root, f"{name}_stopped", 3, *extra, "--resume"))
    a, b = load_checkpoint(toy_root / f"{name}_straight" / LAST), load_checkpoint(toy_root / f"{name}_stopped" / LAST)
    assert len(a["optimizers"]) == (2 if name == "dcgan" else 3)
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    for opt in a["optimizers"]:
        assert str(a["optimizers"][opt]["state"]) == str(b["optimizers"][opt]["state"])
    assert [r["train_d_loss"] for r in a["history"]] == [r["train_d_loss"] for r in b["history"]]
    assert a["history"][-1]["val_d_loss"] == b["history"][-1]["val_d_loss"]  # the stopped run also validated epoch 2
    run = toy_root / f"{name}_straight"
    header = (run / "training.csv").read_text().splitlines()[0].split(",")
    wanted = {"train_d_loss", "train_g_loss", "train_d_real", "train_d_fake", "train_diversity"}
    if name == "vaegan":
        wanted |= {"train_skip_disc", "train_skip_dec", "train_recon", "train_kl", "val_mse"}
        shares = [r["train_skip_disc"] for r in a["history"]] + [r["train_skip_dec"] for r in a["history"]]
        assert all(0 <= s <= 1 and abs(9 * s - round(9 * s)) < 1e-9 for s in shares)  # batches 4 x 32 + 16
    else:  # the conditional GAN, chosen by --conditions
        assert Run.load(run).model_name == "cgan" and "generator_ema.fc.weight" in a["model"]
    assert wanted <= set(header), header
    written(run, "training.gif", "plots/training.png", "iterations/iter_3.png")


@pytest.fixture(scope="module")
def cgan_run(toy_root) -> Path:
    """A conditional GAN trained one epoch through dcgan.py: the run the exploration and refusal tests read."""
    dcgan.main(gan_args(toy_root, "cgan_one_epoch", 1, "--conditions", "smile"))
    return toy_root / "cgan_one_epoch"


def test_exploration_scripts_on_a_gan_run(cgan_run):
    run = cgan_run
    sample_prior.main(["--run", str(run), "--n", "4"])
    sample_prior.main(["--run", str(run), "--temperatures", "0.25:2.0:0.25", "--n", "3"])
    sample_prior.main(["--run", str(run), "--degrees", "-1,1", "--n", "3"])
    sample_across_axis.main(["--run", str(run), "--axis", "2", "--steps", "4"])
    sample_across_axis.main(["--run", str(run), "--axis", "cond", "--steps", "3", "--n", "2"])
    written(run, "sampled/sampled_0.png", "sampled/temperatures_0.png", "sampled/degrees_-1_1.png", "axis/axis_2.png",
            "axis/axis_cond_samples.png")


def one_line_exit_2(capsys, main, argv: list[str], *words: str) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        guard(lambda: main(argv))
    refusal(e.value.code, capsys.readouterr().err, *words)


def test_bad_input_is_one_line_and_exit_2(toy_root, cgan_run, capsys):
    one_line_exit_2(capsys, dcgan.main, gan_args(toy_root, "x", 1, "--loss", "hinge"), "--loss", "hinge")
    one_line_exit_2(capsys, dcgan.main, gan_args(toy_root, "x", 1, "--loss", "wgan-gp", "--d_norm", "batch"),
                    "wgan-gp", "BatchNorm")
    one_line_exit_2(capsys, vaegan.main, gan_args(toy_root, "x", 1, "--disc_layer", "4"), "--disc_layer 4", "1-3")
    one_line_exit_2(capsys, dcgan.main, gan_args(toy_root, "x", 1, "--diffaugment", "colour"), "colour")
    one_line_exit_2(capsys, dcgan.main, gan_args(toy_root, "x", 1, "--loss", "wgan-gp", "--gp_weight", "-5"),
                    "--gp_weight", "-5")
    one_line_exit_2(capsys, vaegan.main, gan_args(toy_root, "x", 1, "--margin", "inf"), "--margin", "inf")
    empty = toy_root / "no_faces_here"
    empty.mkdir(exist_ok=True)
    no_toy = ["--data", str(empty), "--out", str(toy_root / "x"), "--cache_dir", str(toy_root / "cache")]
    one_line_exit_2(capsys, vaegan.main, no_toy, "holds no images", "--data DIR")  # not "pass --labels"
    assert not (toy_root / "x").exists()
    one_line_exit_2(capsys, changing_smiles.main, ["--run", str(cgan_run)], "encode", "cgan run")
    one_line_exit_2(capsys, evaluate.main, ["--run", str(cgan_run)], "encode", "compare_models.py")
    with pytest.raises(FacegenError, match="BatchNorm"):
        build_model("dcgan", dict(size=32, loss="wgan-gp", d_norm="batch")).cfg.check()


def test_the_conditional_vaegan_trains_through_its_script(toy_root):
    vaegan.main(gan_args(toy_root, "cvaegan", 1, "--conditions", "smile", "--e_channels", "8"))
    assert Run.load(toy_root / "cvaegan").model_name == "cvaegan"
    written(toy_root / "cvaegan", "iterations/original.png")  # snapshots are reconstructions
    changing_smiles.main(["--run", str(toy_root / "cvaegan"), "--n", "3"])
    written(toy_root / "cvaegan", "forcing/forcing_smiles_all.png")


# ---- it learns -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_dcgan_lowers_the_frechet_distance_on_toy_faces(toy_root, tmp_path):
    """About a hundred steps on 144 toy faces; the distance to the training faces' features falls, in two fixed
    feature spaces that need no training: an attribute net with random (seeded) weights and 8 x 8 pixels."""
    from facegen.data import load_dataset

    faces: FaceSet = load_dataset(dataset="toy", toy_root=toy_root / "toy", toy_n=160, size=32,
                                  cache_dir=toy_root / "cache")
    train, val = faces.split(0.1, 0)
    torch.manual_seed(1)
    spaces = [NetFeatures(AttributeNet(1, 3, 32)), PixelFeatures()]
    real = [feature_vectors(f, train.images) for f in spaces]
    seed_everything(0)
    model = build_model("dcgan", dict(size=32, channels=3, latent_size=16, g_channels=16, d_channels=16,
                                      max_channels=64))
    prepare_run_dir(tmp_path, resume=False)
    trainer = Trainer(model, train, val, TrainConfig(n_epochs=1, batch_size=16, seed=0), tmp_path,
                      torch.device("cpu"), {})

    def distances() -> list[float]:
        model.eval()
        samples = model.decode(torch.randn(144, 16, generator=torch.Generator().manual_seed(5)))
        model.train()
        return [frechet_distance(feature_vectors(f, samples), r) for f, r in zip(spaces, real, strict=True)]

    start = distances()
    for _ in range(12):  # 9 steps an epoch
        trainer.train_epoch()
    end = distances()
    assert end[0] < 0.5 * start[0] and end[1] < 0.85 * start[1], (start, end)
