"""Latent-space tools: condition vectors, sweeps that share codes, axis and PCA walks, value parsing."""

import argparse
from types import SimpleNamespace

import pytest
import torch

from facegen.analysis.latent import space
from facegen.core import argtypes as at
from facegen.core.errors import FacegenError
from facegen.models.registry import build_model

CVAE_FLAGS = SimpleNamespace(model_name="cvae", cond_names=["smile", "gender", "age"])  # what latent reads of a Run
VAE_FLAGS = SimpleNamespace(model_name="vae", cond_names=[])


def small_model(name: str = "cvae", cond_dim: int = 3):
    torch.manual_seed(0)
    cfg = dict(size=32, channels=3, latent_size=4, cond_dim=cond_dim, base_channels=8, max_channels=32)
    return build_model(name, cfg).eval()


def test_condition_vector_fills_the_smile_column_and_named_others():
    y = space.condition_vector(CVAE_FLAGS, 0.6, 3, gender=1.0)
    assert y.shape == (3, 3)
    assert torch.equal(y, torch.tensor([[0.6, 1.0, 0.0]] * 3))
    per_row = space.condition_vector(CVAE_FLAGS, torch.tensor([-1.0, 1.0]))
    assert per_row[:, 0].tolist() == [-1.0, 1.0] and per_row.shape == (2, 3)


def test_condition_vector_keeps_the_base_conditions():
    base = torch.tensor([[0.2, 1.0, -0.5], [0.4, 0.0, 0.5]])
    y = space.condition_vector(CVAE_FLAGS, base[:, 0] + 0.5, base=base)
    assert torch.allclose(y, torch.tensor([[0.7, 1.0, -0.5], [0.9, 0.0, 0.5]]))
    assert base[0, 0] == 0.2  # not modified in place


def test_condition_vector_errors_and_unconditional_runs():
    with pytest.raises(FacegenError, match="no 'beard' condition"):
        space.condition_vector(CVAE_FLAGS, 0.0, 1, beard=1.0)
    assert space.condition_vector(VAE_FLAGS, 0.5, 4).shape == (4, 0)
    with pytest.raises(FacegenError, match="conditional model"):
        space.require_conditional(VAE_FLAGS, "forcing smiles")


def test_degree_sweep_uses_one_code_per_column():
    model = small_model()
    z = space.prior_noise(5, 4, seed=1)
    rows = space.degree_sweep(model, CVAE_FLAGS, z, [0.3, -0.8, 0.3])
    assert rows.shape == (3, 5, 3, 32, 32)
    assert torch.allclose(rows[0], rows[2])  # same degree, same codes -> same images
    assert not torch.allclose(rows[0], rows[1])  # only the degree differs between these rows
    alone = space.decode(model, z, space.condition_vector(CVAE_FLAGS, -0.8, 5))
    assert torch.allclose(rows[1], alone, atol=1e-6)


def test_prior_noise_and_temperature_sweep():
    assert torch.equal(space.prior_noise(3, 4, seed=7), space.prior_noise(3, 4, seed=7))
    model = small_model()
    eps = space.prior_noise(2, 4, seed=0)
    rows = space.temperature_sweep(model, CVAE_FLAGS, eps, [0.5, 2.0], degree=0.4)
    expected = space.decode(model, 2.0 * eps, space.condition_vector(CVAE_FLAGS, 0.4, 2))
    assert torch.allclose(rows[1], expected, atol=1e-6)


def test_axis_walk_moves_only_the_chosen_dimension():
    model = small_model("vae", 0)
    z0 = torch.tensor([0.5, -0.5, 1.0, 0.0])
    y = space.condition_vector(VAE_FLAGS, 0.0, 1)
    walk = space.axis_walk(model, z0, 2, [-1.0, 0.0, 1.0], y)
    assert walk.shape == (3, 3, 32, 32)
    expected = space.decode(model, torch.tensor([[0.5, -0.5, -1.0, 0.0]]), y)
    assert torch.allclose(walk[0], expected[0], atol=1e-6)
    with pytest.raises(FacegenError, match="out of range"):
        space.axis_walk(model, z0, 4, [0.0, 1.0], y)


def test_interpolate_and_latent_usage():
    a, b = torch.zeros(3), torch.ones(3)
    line = space.interpolate(a, b, 5)
    assert torch.equal(line[0], a) and torch.equal(line[-1], b) and torch.allclose(line[2], b / 2)
    assert space.latent_usage(torch.tensor([0.1, 2.0, 0.5, 1.0]), 2) == [1, 3]


def test_value_parsing():
    assert at.float_list(-3, 3)("-3,-1.1,1.1,3") == [-3.0, -1.1, 1.1, 3.0]
    assert at.span(0, 10)("0.25:2.0:0.25") == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert len(at.span(-1, 1)("-1:1:0.1")) == 21
    assert at.bounds(-10, 10)("-3:3") == (-3.0, 3.0)
    for bad in ("0.5,x", "", "nan", "4", "-inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="comma-separated numbers from -3 to 3"):
            at.float_list(-3, 3)(bad)
    for bad in ("1:2", "2:1:0.5", "0:1:0", "a:b:c", "-1:1:0.5", "0:11:1", "0:1:0.0001"):
        with pytest.raises(argparse.ArgumentTypeError, match="START:STOP:STEP"):
            at.span(0, 10)(bad)
    for bad in ("3:-3", "3:3", "-11:0", "0:nan", "1:2:3"):
        with pytest.raises(argparse.ArgumentTypeError, match="LOW:HIGH"):
            at.bounds(-10, 10)(bad)
