"""Glow layers and likelihood: inverses, log-dets against brute-force Jacobians, ActNorm init, bits/dim, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd.functional import jacobian

from facegen.core.errors import FacegenError
from facegen.losses import likelihood
from facegen.losses.likelihood import bits_per_dim, postprocess, preprocess
from facegen.nn.flow_layers import (
    ActNorm,
    AffineCoupling,
    InvConv1x1,
    Split,
    squeeze2d,
    standard_normal_log_prob,
    unsqueeze2d,
)
from facegen.nn.glow import Glow

LOGDET_ATOL = 1e-9  # float64: analytic log-det vs log|det| of the autograd Jacobian
ROUNDTRIP_ATOL = 1e-5  # float32: decode(encode(x)) vs x for x in [-0.5, 0.5)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def brute_logdet(fn, x: torch.Tensor) -> float:
    """log|det d fn(x) / dx| of one sample (1, C, H, W) by the full autograd Jacobian."""
    def flat(v):
        return fn(v.view_as(x)).flatten()

    jac = jacobian(flat, x.flatten())
    sign, logabs = torch.linalg.slogdet(jac)
    assert sign != 0
    return logabs.item()


def perturb(module: torch.nn.Module, scale: float, seed: int = 1) -> None:
    """Add Gaussian noise to every parameter, so zero-initialised parts stop being trivial."""
    g = gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))


def skewed_batch(shape, dtype=torch.float64, seed: int = 2) -> torch.Tensor:
    """Random data whose channels have distinct means and stds."""
    g = gen(seed)
    c = shape[1]
    mean = torch.linspace(-2, 3, c, dtype=dtype)[None, :, None, None]
    std = torch.linspace(0.2, 4, c, dtype=dtype)[None, :, None, None]
    return mean + std * torch.randn(shape, generator=g, dtype=dtype)


def initialised(module: torch.nn.Module, *args) -> torch.nn.Module:
    """Run one training-mode forward (ActNorm data init), then switch to eval."""
    module.train()
    module(*args)
    return module.eval()


# --- squeeze ---------------------------------------------------------------------------------------------------------

def test_squeeze_layout_inverse_and_unit_jacobian():
    x = torch.randn(2, 3, 4, 6, dtype=torch.float64)
    s = squeeze2d(x)
    assert s.shape == (2, 12, 2, 3)
    for c in range(3):
        for i in range(2):
            for j in range(2):
                assert torch.equal(s[:, 4 * c + 2 * i + j], x[:, c, i::2, j::2])
    assert torch.equal(unsqueeze2d(s), x)
    jac = jacobian(lambda v: squeeze2d(v.view(1, 2, 4, 4)).flatten(), torch.randn(32, dtype=torch.float64))
    assert torch.equal(jac.sum(0), torch.ones(32, dtype=torch.float64))  # a permutation matrix
    assert torch.equal(jac.sum(1), torch.ones(32, dtype=torch.float64))
    assert torch.linalg.slogdet(jac).logabsdet.item() == 0.0


# --- ActNorm ---------------------------------------------------------------------------------------------------------

def test_actnorm_data_init_standardises_each_channel():
    x = skewed_batch((16, 5, 6, 6), dtype=torch.float32)
    norm = ActNorm(5).train()
    y, logdet = norm(x)
    assert bool(norm.initialized)
    assert y.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    torch.testing.assert_close(y.var(dim=(0, 2, 3), unbiased=False), torch.ones(5), rtol=1e-4, atol=0)
    assert logdet.shape == (16,)
    # logdet = H W sum log(1 / std) of the batch
    std = x.double().std(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(logdet.double(), (-36 * std.log().sum()).expand(16), rtol=1e-5, atol=1e-4)


def test_actnorm_reloaded_state_is_not_reinitialised():
    first, second = skewed_batch((8, 3, 4, 4), seed=3), 5 + 0.1 * skewed_batch((8, 3, 4, 4), seed=4)
    trained = initialised(ActNorm(3).double(), first)
    state = {k: v.clone() for k, v in trained.state_dict().items()}
    assert set(state) == {"bias", "log_scale", "initialized"}

    loaded = ActNorm(3).double()
    loaded.load_state_dict(state)
    loaded.train()
    y, _ = loaded(second)
    torch.testing.assert_close(y, trained(second)[0])
    torch.testing.assert_close(loaded.bias, state["bias"])

    fresh = ActNorm(3).double().train()  # the counter-case: a fresh layer does initialise on that batch
    assert not torch.allclose(fresh(second)[0], y)

    # loading an uninitialised state into an initialised layer makes it initialise again on its next batch
    trained.load_state_dict(ActNorm(3).double().state_dict())
    trained.train()
    torch.testing.assert_close(trained(second)[0], fresh(second)[0])


def test_actnorm_logdet_and_inverse():
    norm = initialised(ActNorm(2).double(), skewed_batch((8, 2, 4, 4)))
    x = skewed_batch((1, 2, 4, 4), seed=5)
    y, logdet = norm(x)
    assert abs(logdet.item() - brute_logdet(lambda v: norm(v)[0], x)) < LOGDET_ATOL
    torch.testing.assert_close(norm.inverse(y), x, rtol=0, atol=1e-12)


# --- InvConv1x1 ------------------------------------------------------------------------------------------------------

def test_invconv_starts_orthogonal_and_is_seeded():
    conv = InvConv1x1(6, gen(7))
    w = conv.weight()
    torch.testing.assert_close(w @ w.T, torch.eye(6), rtol=0, atol=1e-5)
    assert torch.equal(w, InvConv1x1(6, gen(7)).weight())
    assert not torch.equal(w, InvConv1x1(6, gen(8)).weight())
    assert conv.perm.shape == (6, 6) and set(conv.state_dict()) == {"perm", "sign_s", "lower", "upper", "log_s"}


def test_invconv_lu_inverse_matches_linalg_inv():
    conv = InvConv1x1(5, gen(9)).double()
    perturb(conv, 0.3)
    torch.testing.assert_close(conv.inverse_weight(), torch.linalg.inv(conv.weight()), rtol=0, atol=1e-12)
    x = torch.randn(3, 5, 4, 4, dtype=torch.float64)
    y, logdet = conv(x)
    torch.testing.assert_close(conv.inverse(y), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(logdet, (16 * torch.linalg.slogdet(conv.weight()).logabsdet).expand(3))


def test_invconv_logdet_brute_force():
    conv = InvConv1x1(2, gen(10)).double()
    perturb(conv, 0.3)
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    assert abs(conv(x)[1].item() - brute_logdet(lambda v: conv(v)[0], x)) < LOGDET_ATOL


# --- couplings -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("additive", [False, True])
@pytest.mark.parametrize("cond_dim", [0, 2])
def test_coupling_logdet_brute_force_and_inverse(additive, cond_dim):
    cond = torch.tensor([[0.7, -1.2]], dtype=torch.float64)[:, :cond_dim] if cond_dim else None
    coupling = AffineCoupling(4, hidden=8, cond_dim=cond_dim, additive=additive).double()
    initialised(coupling, skewed_batch((8, 4, 4, 4)), None if cond is None else cond.expand(8, -1))
    perturb(coupling, 0.2)
    x = skewed_batch((1, 4, 4, 4), seed=11)
    y, logdet = coupling(x, cond)
    assert abs(logdet.item() - brute_logdet(lambda v: coupling(v, cond)[0], x)) < LOGDET_ATOL
    if additive:
        assert logdet.item() == 0.0
    else:
        assert abs(logdet.item()) > 0.1
    torch.testing.assert_close(coupling.inverse(y, cond), x, rtol=0, atol=1e-12)


def test_coupling_starts_near_identity():
    x = torch.randn(2, 4, 3, 3)
    affine, additive = AffineCoupling(4, hidden=8).train(), AffineCoupling(4, hidden=8, additive=True).train()
    y, logdet = affine(x)
    torch.testing.assert_close(y, torch.cat([x[:, :2], x[:, 2:] * torch.sigmoid(torch.tensor(2.0))], dim=1))
    torch.testing.assert_close(logdet, torch.full((2,), 18 * F.logsigmoid(torch.tensor(2.0)).item()))
    assert torch.equal(additive(x)[0], x)


def test_coupling_condition_changes_the_map():
    coupling = AffineCoupling(4, hidden=8, cond_dim=1).double()
    perturb(coupling, 0.3)
    x = torch.randn(1, 4, 4, 4, dtype=torch.float64)
    y0 = coupling(x, torch.zeros(1, 1, dtype=torch.float64))[0]
    y1 = coupling(x, torch.ones(1, 1, dtype=torch.float64))[0]
    assert torch.equal(y0[:, :2], y1[:, :2]) and not torch.allclose(y0[:, 2:], y1[:, 2:])
    with pytest.raises(ValueError):
        coupling(x)


# --- Split -----------------------------------------------------------------------------------------------------------

def test_split_logdet_brute_force_and_inverse():
    split = Split(4).double()
    perturb(split, 0.3)
    z = torch.randn(1, 4, 4, 4, dtype=torch.float64)
    kept, eps, logdet = split(z)
    assert kept.shape == (1, 2, 4, 4) and eps.shape == (1, 2, 4, 4)
    brute = brute_logdet(lambda v: torch.cat(split(v)[:2], dim=1), z)  # (kept, eps) as one map of z
    assert abs(logdet.item() - brute) < LOGDET_ATOL
    torch.testing.assert_close(split.inverse(kept, eps), z, rtol=0, atol=1e-12)
    fresh_kept, fresh_eps, fresh_logdet = Split(4).double()(z)  # zero-initialised prior: N(0, I)
    assert torch.equal(fresh_eps, z[:, 2:]) and fresh_logdet.item() == 0.0


# --- Glow ------------------------------------------------------------------------------------------------------------

def tiny_glow(coupling: str = "affine", cond_dim: int = 0, dtype=torch.float64, **kw) -> Glow:
    """A 2-level Glow on (2, 4, 4) images (D = 32), data-initialised and perturbed so nothing is trivial."""
    glow = Glow(size=4, channels=2, levels=2, steps=2, hidden=8, coupling=coupling, cond_dim=cond_dim,
                generator=gen(12), **kw).to(dtype)
    y = torch.randn(16, cond_dim, dtype=dtype, generator=gen(13)) if cond_dim else None
    glow.train()
    glow.log_prob(skewed_batch((16, 2, 4, 4), dtype=dtype), y)
    perturb(glow, 0.05)
    return glow.eval()


@pytest.mark.parametrize("coupling,cond_dim", [("affine", 0), ("affine", 2), ("additive", 1)])
def test_glow_log_prob_is_change_of_variables(coupling, cond_dim):
    glow = tiny_glow(coupling, cond_dim)
    y = torch.tensor([[0.5, -0.3]], dtype=torch.float64)[:, :cond_dim] if cond_dim else None
    x = skewed_batch((1, 2, 4, 4), seed=14)
    eps = glow.encode(x, y)
    assert eps.shape == (1, 32)
    brute = brute_logdet(lambda v: glow.encode(v, y), x) + standard_normal_log_prob(eps).item()
    assert abs(glow.log_prob(x, y).item() - brute) < LOGDET_ATOL


def test_glow_log_prob_is_per_sample():
    glow = tiny_glow(cond_dim=1)
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64, generator=gen(15))
    y = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    batch = glow.log_prob(x, y)
    assert batch.shape == (3,)
    singles = torch.cat([glow.log_prob(x[i : i + 1], y[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-10)


@pytest.mark.parametrize("coupling", ["affine", "additive"])
@pytest.mark.parametrize("cond_dim", [0, 3])
def test_glow_encode_decode_roundtrip_float32(coupling, cond_dim):
    glow = Glow(size=8, channels=3, levels=2, steps=2, hidden=16, coupling=coupling, cond_dim=cond_dim,
                generator=gen(16))
    g = gen(17)
    x = torch.rand(6, 3, 8, 8, generator=g) - 0.5
    y = torch.randn(6, cond_dim, generator=g) if cond_dim else None
    glow.train()
    glow.log_prob(x, y)  # one ActNorm init
    perturb(glow, 0.02)
    glow.eval()
    with torch.no_grad():
        eps = glow.encode(x, y)
        assert eps.shape == (6, glow.dim) and glow.dim == 192
        torch.testing.assert_close(glow.decode(eps, y), x, rtol=0, atol=ROUNDTRIP_ATOL)
        torch.testing.assert_close(glow.encode(glow.decode(eps, y), y), eps, rtol=0, atol=1e-4)
        torch.testing.assert_close(glow.decode(eps, y, temperature=0.7), glow.decode(0.7 * eps, y))
        if cond_dim:
            assert (glow.decode(eps, y + 1.0) - glow.decode(eps, y)).abs().max() > 1e-3


def test_glow_conditional_top_prior_starts_unconditional_then_shifts_with_y():
    glow = Glow(size=4, channels=2, levels=2, steps=1, hidden=8, cond_dim=1, cond_couplings=False).double().eval()
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    lo, hi = torch.full((2, 1), -1.0, dtype=torch.float64), torch.full((2, 1), 1.0, dtype=torch.float64)
    torch.testing.assert_close(glow.log_prob(x, lo), glow.log_prob(x, hi))  # zero-initialised linear
    with torch.no_grad():
        glow.cond_prior.weight.fill_(0.5)
    eps_lo, eps_hi = glow.encode(x, lo), glow.encode(x, hi)
    top = math.prod(glow.top_shape)
    torch.testing.assert_close(eps_lo[:, :-top], eps_hi[:, :-top])  # only the top latent depends on y
    # mean and log-std both move by 0.5 * y: eps_top = (z - 0.5 y) exp(-0.5 y)
    z = eps_lo[:, -top:] * math.exp(-0.5) - 0.5
    torch.testing.assert_close(eps_hi[:, -top:], (z - 0.5) * math.exp(-0.5))


def test_glow_state_dict_resume_keeps_actnorm():
    glow = tiny_glow(cond_dim=0)
    resumed = Glow(size=4, channels=2, levels=2, steps=2, hidden=8, generator=gen(99)).double()
    resumed.load_state_dict(glow.state_dict())
    x = torch.randn(4, 2, 4, 4, dtype=torch.float64) * 3 + 1
    resumed.train()
    torch.testing.assert_close(resumed.log_prob(x), glow.log_prob(x))


def test_glow_refuses_bad_sizes_in_one_line():
    with pytest.raises(FacegenError, match="not divisible by 2\\*\\*levels = 8") as err:
        Glow(size=50, channels=3, levels=3)
    assert "\n" not in str(err.value)
    with pytest.raises(FacegenError, match="levels"):
        Glow(size=8, channels=3, levels=0)
    with pytest.raises(FacegenError, match="coupling"):
        Glow(size=8, channels=3, levels=1, coupling="spline")
    glow = Glow(size=24, channels=1, levels=3, steps=1, hidden=4)
    assert glow.dim == 576
    with pytest.raises(FacegenError, match="expects images"):
        glow.encode(torch.zeros(1, 3, 24, 24))


def test_glow_log_prob_is_float32_under_autocast():
    glow = Glow(size=8, channels=3, levels=2, steps=1, hidden=16, generator=gen(18))
    x = torch.rand(4, 3, 8, 8, generator=gen(19)) - 0.5
    glow.train()
    reference = glow.log_prob(x)
    glow.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = glow.log_prob(x)
        eps = glow.encode(x)
    assert amp.dtype == torch.float32 and eps.dtype == torch.float32
    torch.testing.assert_close(amp, glow.log_prob(x).detach(), rtol=1e-3, atol=0.5)
    assert torch.isfinite(reference).all()


# --- likelihood ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_bits", [1, 5, 8])
def test_uniform_density_scores_n_bits_per_dim(n_bits):
    d = 3 * 16 * 16
    log_prob = torch.zeros(4, dtype=torch.float64)  # the uniform density on [-0.5, 0.5)^D is 1
    assert bits_per_dim(log_prob, d, n_bits).tolist() == [n_bits] * 4
    # a density twice as high everywhere saves exactly one bit per image
    half = bits_per_dim(torch.full((1,), math.log(2), dtype=torch.float64), d, n_bits)
    assert abs(half.item() - (n_bits - 1 / d)) < 1e-12


@pytest.mark.parametrize("n_bits", [3, 5, 8])
def test_dequantisation_stays_in_bins(n_bits):
    levels = torch.arange(256, dtype=torch.uint8).repeat(40)
    k = (levels.long() >> (8 - n_bits)).double()
    for x in (preprocess(levels, n_bits, gen(20)), preprocess(levels.float() / 255, n_bits, gen(20))):
        assert x.dtype == torch.float32
        assert (x.double() >= k / 2**n_bits - 0.5).all() and (x.double() < (k + 1) / 2**n_bits - 0.5).all()
    x = preprocess(levels, n_bits, gen(20))
    offsets = (x.double() + 0.5) * 2**n_bits - k  # the noise, uniform on [0, 1)
    assert 0.45 < offsets.mean() < 0.55 and offsets.min() < 0.05 and offsets.max() > 0.95
    expected = k / (2**n_bits - 1)
    torch.testing.assert_close(postprocess(x, n_bits).double(), expected, rtol=0, atol=1e-7)


def test_dequantisation_noise_at_its_maximum_stays_below_the_upper_edge(monkeypatch):
    top = 1 - 2**-24  # the largest float32 torch.rand returns; k + top rounds up to k + 1 in float32
    monkeypatch.setattr(likelihood.torch, "rand", lambda shape, **kw: torch.full(shape, top, dtype=kw["dtype"]))
    levels = torch.arange(256, dtype=torch.uint8)
    x = preprocess(levels, 5)
    upper = ((levels.long() >> 3) + 1).float() / 32 - 0.5
    assert (x < upper).all()
    assert ((upper - x) < 1e-6).all()


def test_postprocess_inverts_preprocess_at_8_bits_and_preprocess_checks_range():
    img = torch.randint(0, 256, (2, 3, 5, 5), dtype=torch.uint8, generator=gen(21))
    assert torch.equal(postprocess(preprocess(img, 8, gen(22)), 8), img.float() / 255)
    assert postprocess(torch.tensor([-3.0, 3.0]), 5).tolist() == [0.0, 1.0]
    with pytest.raises(FacegenError, match="\\[0, 1\\]"):
        preprocess(torch.tensor([1.5]), 5)
    with pytest.raises(FacegenError, match="n_bits"):
        preprocess(img, 9)


# --- training --------------------------------------------------------------------------------------------------------

def blob_images(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """n RGB images in [0, 1]: one Gaussian blob each, random centre, width and colour on a dark background."""
    coords = torch.arange(size, dtype=torch.float32)
    centre = torch.rand(n, 2, generator=generator) * (size - 1)
    width = 1.0 + 1.5 * torch.rand(n, 1, 1, generator=generator)
    colour = 0.3 + 0.7 * torch.rand(n, 3, 1, 1, generator=generator)
    rows = (coords[None, :, None] - centre[:, 0, None, None]) ** 2
    d2 = rows + (coords[None, None, :] - centre[:, 1, None, None]) ** 2
    return (colour * torch.exp(-d2 / (2 * width**2))[:, None]).clamp(0, 1)


def test_training_lowers_bits_per_dim():
    torch.manual_seed(0)
    g = gen(23)
    images = blob_images(64, 8, g)
    n_bits = 5
    glow = Glow(size=8, channels=3, levels=2, steps=2, hidden=32, generator=g)
    eval_x = preprocess(images, n_bits, gen(24))

    def score() -> float:
        glow.eval()
        with torch.no_grad():
            return bits_per_dim(glow.log_prob(eval_x), glow.dim, n_bits).mean().item()

    glow.train()
    glow.log_prob(eval_x)  # ActNorm init
    before = score()
    opt = torch.optim.Adam(glow.parameters(), lr=3e-3)
    glow.train()
    for _ in range(150):
        loss = bits_per_dim(glow.log_prob(preprocess(images, n_bits, g)), glow.dim, n_bits).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = score()
    assert math.isfinite(after) and after < before - 1.5, (before, after)
