"""Adversarial losses against their closed forms: optimal discriminators, generator signs, the WGAN-GP penalty."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.losses.adversarial import (
    LOSSES,
    check_critic,
    check_loss,
    discriminator_loss,
    discriminator_terms,
    generator_loss,
    gradient_penalty,
)


def toy_densities() -> tuple[torch.Tensor, torch.Tensor]:
    """Counts of real (p) and fake (q) samples on a 1-D grid of 15 points: two overlapping bumps, every count > 0,
    so p = counts_p / N and q = counts_q / N are exact empirical densities of the batches built from them."""
    x = torch.linspace(-3, 3, 15, dtype=torch.float64)
    p = (200 * torch.exp(-0.5 * (x + 0.8) ** 2)).round().long() + 1
    q = (200 * torch.exp(-0.5 * ((x - 1.0) / 1.3) ** 2)).round().long() + 1
    return p, q


def minimise_discriminator(kind: str, p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, float]:
    """A free logit per grid point, fitted with L-BFGS to the batch loss of real / fake batches in which point i
    appears p[i] / q[i] times: the batch means are then exactly the expectations under p and q."""
    logits = torch.zeros(len(p), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([logits], lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = discriminator_loss(kind, logits.repeat_interleave(p), logits.repeat_interleave(q))
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        final = discriminator_loss(kind, logits.repeat_interleave(p), logits.repeat_interleave(q))
    return logits.detach(), float(final)


def test_bce_discriminator_optimum_is_p_over_p_plus_q():
    counts_p, counts_q = toy_densities()
    p, q = counts_p.double() / counts_p.sum(), counts_q.double() / counts_q.sum()
    logits, loss = minimise_discriminator("bce", counts_p, counts_q)
    assert torch.allclose(torch.sigmoid(logits), p / (p + q), atol=1e-6)
    # the minimum is log 4 - 2 JSD(p, q) (Goodfellow et al. 2014, theorem 1)
    m = (p + q) / 2
    jsd = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    assert loss == pytest.approx(math.log(4) - 2 * float(jsd), abs=1e-9)


def test_lsgan_discriminator_optimum_is_b_p_plus_a_q_over_p_plus_q():
    counts_p, counts_q = toy_densities()
    p, q = counts_p.double() / counts_p.sum(), counts_q.double() / counts_q.sum()
    logits, loss = minimise_discriminator("lsgan", counts_p, counts_q)
    a, b = 0.0, 1.0
    assert torch.allclose(logits, (b * p + a * q) / (p + q), atol=1e-6)
    # pointwise minimum of 1/2 p (D - 1)^2 + 1/2 q D^2 is 1/2 p q / (p + q)
    assert loss == pytest.approx(float((0.5 * p * q / (p + q)).sum()), abs=1e-10)


def test_losses_match_their_formulas_and_stay_finite_for_huge_logits():
    real = torch.tensor([[2.0], [-1.0], [0.5], [300.0]])
    fake = torch.tensor([[-3.0], [0.0], [1.5], [-300.0]])
    bce = nn.functional.binary_cross_entropy_with_logits
    assert torch.allclose(discriminator_loss("bce", real, fake),
                          bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    assert torch.allclose(generator_loss("bce", fake), bce(fake, torch.ones_like(fake)))
    huge = torch.tensor([-1e4, 1e4])
    assert torch.isfinite(discriminator_loss("bce", huge, huge)) and torch.isfinite(generator_loss("bce", huge))
    assert torch.allclose(discriminator_loss("lsgan", real, fake),
                          0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    assert torch.allclose(generator_loss("lsgan", fake), 0.5 * ((fake - 1) ** 2).mean())
    assert torch.allclose(discriminator_loss("wgan-gp", real, fake), fake.mean() - real.mean())
    assert torch.allclose(generator_loss("wgan-gp", fake), -fake.mean())
    r, f = discriminator_terms("bce", real, fake)
    assert torch.allclose(r, bce(real, torch.ones_like(real))) and torch.allclose(f, bce(fake, torch.zeros_like(fake)))


@pytest.mark.parametrize("kind", LOSSES)
def test_generator_loss_falls_as_fake_logits_move_towards_real(kind):
    fake = torch.linspace(-3, 0.5, 8, requires_grad=True)  # below the lsgan target c = 1
    loss = generator_loss(kind, fake)
    loss.backward()
    assert (fake.grad < 0).all()
    assert generator_loss(kind, fake.detach() + 0.1) < loss


@pytest.mark.parametrize("kind", LOSSES)
def test_discriminator_loss_falls_as_it_separates_real_from_fake(kind):
    real, fake = torch.linspace(-0.5, 0.5, 6), torch.linspace(-0.4, 0.6, 6)
    base = discriminator_loss(kind, real, fake)
    assert discriminator_loss(kind, real + 0.1, fake) < base
    assert discriminator_loss(kind, real, fake - 0.1) < base


def test_penalty_of_a_linear_critic_is_weight_times_norm_minus_one_squared_and_trains_the_critic():
    torch.manual_seed(0)
    w = torch.randn(3 * 4 * 4, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)

    def critic(x: torch.Tensor) -> torch.Tensor:  # gradient w everywhere
        return x.flatten(1) @ w + bias

    real, fake = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(5, 3, 4, 4, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, weight=7.0)
    norm = w.detach().norm()
    assert gp.item() == pytest.approx(7.0 * (norm.item() - 1) ** 2, rel=1e-12)
    gp.backward()  # create_graph=True: d/dw 7 (||w|| - 1)^2 = 14 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 14 * (norm - 1) * w.detach() / norm)
    assert bias.grad is None or bias.grad.abs().item() == 0


def test_penalty_of_a_quadratic_critic_matches_its_definition():
    torch.manual_seed(1)
    a_mat = torch.randn(6, 6, dtype=torch.float64)
    a_mat = a_mat + a_mat.T  # symmetric: grad of 1/2 x^T A x is A x

    def critic(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((x @ a_mat) * x).sum(1)

    real, fake = torch.randn(9, 6, dtype=torch.float64), torch.randn(9, 6, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, weight=3.0, generator=torch.Generator().manual_seed(5))
    alpha = torch.rand(9, generator=torch.Generator().manual_seed(5)).double()[:, None]
    x_hat = alpha * real + (1 - alpha) * fake
    expected = 3.0 * (((x_hat @ a_mat).norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-12)
    # alpha-free check: real == fake gives x_hat = real whatever alpha is drawn
    same = gradient_penalty(critic, real, real, weight=3.0)
    assert same.item() == pytest.approx((3.0 * ((real @ a_mat).norm(dim=1) - 1) ** 2).mean().item(), rel=1e-12)


def test_penalty_of_a_conditional_critic_and_of_a_patch_critic():
    c = torch.randn(4, 10, dtype=torch.float64)
    real, fake = torch.randn(4, 10, dtype=torch.float64), torch.randn(4, 10, dtype=torch.float64)
    gp = gradient_penalty(lambda x, cond: (cond * x).sum(1), real, fake, weight=2.0, cond=c)  # gradient = cond
    assert gp.item() == pytest.approx((2.0 * (c.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-12)
    images = torch.randn(3, 2, 4, 4)
    # a critic map equal to its input: per-sample mean has gradient 1/32 in each of 32 pixels, norm 1/sqrt(32)
    gp = gradient_penalty(lambda x: x, images, torch.zeros_like(images), weight=10.0)
    assert gp.item() == pytest.approx(10.0 * (1 / math.sqrt(32) - 1) ** 2, rel=1e-6)


def test_unknown_loss_names_and_batchnorm_in_a_wgan_critic_are_one_line_errors():
    with pytest.raises(FacegenError, match="bce, lsgan, wgan-gp") as err:
        check_loss("hinge")
    assert "\n" not in str(err.value)
    for call in (lambda: discriminator_loss("gan", torch.zeros(1), torch.zeros(1)),
                 lambda: generator_loss("wgan", torch.zeros(1))):
        with pytest.raises(FacegenError, match="choose one of"):
            call()
    critic = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.LeakyReLU(0.2))
    with pytest.raises(FacegenError, match=r"BatchNorm \(1\)") as err:
        check_critic(critic, "wgan-gp")
    assert "\n" not in str(err.value)
    check_critic(critic, "bce")
    check_critic(critic, "lsgan")
    check_critic(nn.Sequential(nn.Conv2d(3, 8, 3), nn.InstanceNorm2d(8), nn.LayerNorm(4)), "wgan-gp")
    with pytest.raises(FacegenError, match="BatchNorm"):
        check_critic(nn.SyncBatchNorm(4), "wgan-gp")
    with pytest.raises(FacegenError, match="choose one of"):
        check_critic(critic, "wgan")
