"""The maths of the models: shapes, the KL term, the reparameterisation, the condition."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from facegen.losses.elbo import kl_to_standard_normal, reparameterize
from facegen.models.capabilities import Decoder, Encoder, EvidenceBound, Sampler
from facegen.models.registry import build_model, discover
from facegen.nn.conv import level_sizes

TINY = dict(size=32, channels=3, latent_size=7, cond_dim=1)


def with_latent_size(protocol: type) -> list[str]:
    """The registered models with a --latent_size flag whose tiny instance implements ``protocol``."""
    return sorted(n for n, c in discover().items()
                  if "latent_size" in c.Config.__dataclass_fields__ and isinstance(build_model(n, TINY), protocol))


@pytest.mark.parametrize("size", [32, 50, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", [n for n in with_latent_size(Encoder) if n in with_latent_size(Decoder)])
def test_encoder_decoder_shapes(name, size, channels):
    model = build_model(name, dict(size=size, channels=channels, latent_size=7, cond_dim=1)).eval()
    x = torch.rand(3, channels, size, size)
    y = torch.rand(3, 1) * 2 - 1
    mu, logvar = model.encode(x, y)
    assert mu.shape == (3, 7)
    assert (logvar is None) == (name == "ae")  # every other one encodes a Gaussian posterior
    out = model.decode(mu, y)
    assert out.shape == x.shape
    assert 0 <= out.min() and out.max() <= 1


def test_level_sizes_round_trip_odd_sizes():
    assert level_sizes(50) == [50, 25, 13, 7, 4]
    assert level_sizes(32) == [32, 16, 8, 4]
    assert level_sizes(128)[-1] == 4


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(16, 5), torch.randn(16, 5)
    ours = kl_to_standard_normal(mu, logvar)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros(5), torch.ones(5))).sum(1)
    torch.testing.assert_close(ours, ref)
    assert kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0


def test_reparameterized_samples_have_posterior_moments():
    torch.manual_seed(0)
    mu = torch.tensor([[1.5, -2.0, 0.0]]).expand(200_000, 3)
    sigma = torch.tensor([1.0, 0.5, 3.0])
    logvar = (2 * sigma.log())[None].expand(200_000, 3)
    z = reparameterize(mu, logvar)
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.03, rtol=0)
    torch.testing.assert_close(z.std(0), sigma, atol=0.02, rtol=0)


def test_reparameterization_passes_gradients():
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    reparameterize(mu, logvar).sum().backward()
    assert mu.grad is not None and torch.all(mu.grad == 1)
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_vae_loss_is_the_batch_mean_of_recon_plus_beta_kl():
    """The loss written out: per face, the squared error summed over pixels of the decoded posterior sample plus
    beta times the KL to the prior (torch.distributions), averaged over the batch."""
    torch.manual_seed(0)
    model = build_model("vae", dict(size=32, channels=1, latent_size=4, beta=0.5))
    x, y = torch.rand(4, 1, 32, 32), torch.zeros(4, 0)
    torch.manual_seed(1)
    out = model.loss(x, y)
    mu, logvar = model.encode(x, y)
    std = (0.5 * logvar).exp()
    torch.manual_seed(1)
    z = mu + std * torch.randn_like(mu)
    recon = (model.decode(z, y) - x).square().flatten(1).sum(1).mean()
    kl = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(out["recon"], recon)
    torch.testing.assert_close(out["kl"], kl)
    torch.testing.assert_close(out["loss"], recon + 0.5 * kl)


def test_cvae_decoder_uses_the_condition():
    torch.manual_seed(0)
    model = build_model("cvae", dict(size=32, channels=3, latent_size=4, cond_dim=1)).eval()
    z = torch.randn(2, 4)
    a = model.decode(z, torch.full((2, 1), -1.0))
    b = model.decode(z, torch.full((2, 1), 1.0))
    assert (a - b).abs().max() > 1e-4
    vae = build_model("vae", dict(size=32, channels=3, latent_size=4, cond_dim=1)).eval()
    torch.testing.assert_close(vae.decode(z, torch.full((2, 1), -1.0)), vae.decode(z, torch.full((2, 1), 1.0)))


def test_bce_and_mse_losses_are_summed_over_pixels():
    from facegen.losses.elbo import reconstruction_loss
    x = torch.full((2, 1, 4, 4), 0.5)
    logits = torch.zeros(2, 1, 4, 4)  # sigmoid -> 0.5
    assert torch.allclose(reconstruction_loss(logits, x, "mse"), torch.zeros(2))
    bce = reconstruction_loss(logits, x, "bce")
    assert torch.allclose(bce, torch.full((2,), 16 * torch.log(torch.tensor(2.0)).item()))


@pytest.mark.parametrize("name", ["ae", "vae", "cvae", "sscvae"])
def test_losses_are_float32_under_mixed_precision(name):
    """--amp autocasts the convolutions to bfloat16; every loss term stays float32 and finite, and gradients flow."""
    torch.manual_seed(0)
    net = build_model(name, dict(size=32, channels=3, latent_size=4, cond_dim=1, base_channels=8))
    x, y = torch.rand(6, 3, 32, 32), torch.rand(6, 1) * 2 - 1
    with torch.autocast("cpu", torch.bfloat16):
        out = net.loss(x, y, torch.arange(6) < 3)
    for key in ("loss", "recon", "kl"):
        assert out[key].dtype == torch.float32 and torch.isfinite(out[key]), key
    out["loss"].backward()
    assert all(p.grad is not None for p in net.encoder.parameters())


@pytest.mark.parametrize("name", with_latent_size(Sampler))
def test_a_gaussian_prior_sample_decodes_temperature_times_the_generators_normal_draw(name):
    """sample(n, y, t, g) is decode(t * z) with z the n x latent_size standard normals ``g`` draws; at temperature
    0 every sample is the decoded origin."""
    torch.manual_seed(0)
    model = build_model(name, TINY).eval()
    y = torch.rand(4, 1) * 2 - 1
    with torch.no_grad():
        got = model.sample(4, y, 0.5, torch.Generator().manual_seed(3))
        z = torch.randn(4, model.latent_size, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(got, model.decode(0.5 * z, y))
        origin = model.sample(4, y, 0.0, torch.Generator().manual_seed(5))
        torch.testing.assert_close(origin, model.decode(torch.zeros(4, model.latent_size), y))
    assert not torch.allclose(got, origin)


@pytest.mark.parametrize("name", ["vae", "cvae", "sscvae"])
def test_the_elbo_is_minus_the_unweighted_terms_of_the_loss(name):
    """elbo(x, y) = -(recon + KL) of the same posterior draw, whatever beta weights the KL in training."""
    model = build_model(name, dict(TINY, beta=4.0))
    assert isinstance(model, EvidenceBound)
    x, y = torch.rand(3, 3, 32, 32), torch.rand(3, 1) * 2 - 1
    torch.manual_seed(2)
    out = model.loss(x, y)
    torch.manual_seed(2)
    torch.testing.assert_close(model.elbo(x, y), -(out["recon"] + out["kl"]))
    assert not torch.allclose(model.elbo(x, y), -out["loss"])
