"""The EMA of a network's weights equals its closed form; buffers follow the network; it round-trips a checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.nn.ema import EMA


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).double()


def test_ema_after_k_updates_is_the_closed_form_sum():
    net, decay, k = small_net(), 0.9, 6
    start = [p.detach().clone() for p in net.parameters()]
    ema = EMA(net, decay)
    seen = []
    gen = torch.Generator().manual_seed(1)
    for _ in range(k):
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
        seen.append([p.detach().clone() for p in net.parameters()])
        ema.update(net)
    for i, p_ema in enumerate(ema.module.parameters()):
        expected = decay**k * start[i] + sum((1 - decay) * decay ** (k - j) * seen[j - 1][i] for j in range(1, k + 1))
        assert torch.allclose(p_ema, expected, rtol=0, atol=1e-12)
        assert not p_ema.requires_grad
    assert not ema.module.training


def test_buffers_follow_the_model_and_the_copy_is_independent():
    net = small_net()
    ema = EMA(net, 0.5)
    net.train()
    net(torch.randn(8, 3, dtype=torch.float64))  # moves BatchNorm's running statistics
    bn, bn_ema = net[1], ema.module[1]
    assert not torch.equal(bn.running_mean, bn_ema.running_mean)
    ema.update(net)
    for b, b_ema in zip(net.buffers(), ema.module.buffers(), strict=True):
        assert torch.equal(b, b_ema)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert not torch.equal(net[0].weight, ema.module[0].weight)  # a deep copy, not a view


def test_state_dict_round_trip_and_bad_inputs():
    net = small_net()
    ema = EMA(net, 0.99)
    with torch.no_grad():
        net[0].weight.add_(3.0)
    ema.update(net)
    fresh = EMA(small_net(), 0.99)
    fresh.load_state_dict(ema.state_dict())
    for a, b in zip(fresh.module.state_dict().values(), ema.module.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(FacegenError, match="decay"):
        EMA(net, 1.5)
    with pytest.raises(ValueError, match="architecture"):
        ema.update(nn.Sequential(nn.Linear(3, 4)))
