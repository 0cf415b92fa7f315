"""An exponential moving average of a network's weights, the copy a GAN samples from (Karras et al. 2018)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from facegen.core.errors import FacegenError


class EMA:
    """A frozen deep copy ``module`` of a network whose parameters follow ``p_ema <- decay p_ema + (1 - decay) p``.

    After k updates with parameters p_1 ... p_k from a start p_0:  p_ema = decay^k p_0 + (1 - decay)
    sum_j decay^(k-j) p_j. Buffers (e.g. BatchNorm running statistics) are copied, not averaged. The copy is in
    eval mode with ``requires_grad`` off; pass ``update`` the bare network (not a DDP or compiled wrapper).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay <= 1.0:
            raise FacegenError(f"EMA decay must lie in [0, 1], not {decay}: pass e.g. --ema_decay 0.999")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One averaging step towards ``model``'s current parameters; its buffers are copied over."""
        params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
        own_params, own_buffers = dict(self.module.named_parameters()), dict(self.module.named_buffers())
        if params.keys() != own_params.keys() or buffers.keys() != own_buffers.keys():
            raise ValueError("EMA.update got a network of another architecture than the one it copied "
                             "(pass the bare module, not a DDP / compiled wrapper)")
        for name, p_ema in own_params.items():
            p_ema.lerp_(params[name].detach(), 1.0 - self.decay)
        for name, b_ema in own_buffers.items():
            b_ema.copy_(buffers[name])

    def state_dict(self) -> dict[str, Any]:
        """The averaged network's state dict (the decay is configuration, not state)."""
        return self.module.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the averaged weights saved by :meth:`state_dict`."""
        self.module.load_state_dict(state)
