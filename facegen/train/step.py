"""The trainer's side of a model's training step: autocast, loss scaling, gradient averaging over processes,
clipping and the optimizer step, for any number of named optimizers."""

from __future__ import annotations

import contextlib

import torch
from torch.profiler import record_function

from facegen.core.distributed import World, all_reduce_sum, average_gradients


class TrainStep:
    """Handed to ``Model.train_step``; one instance serves the whole run."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], scaler: torch.amp.GradScaler,
                 device: torch.device, amp_dtype: torch.dtype, amp: bool, clip_grad: float, world: World):
        self.optimizers, self.scaler, self.device = optimizers, scaler, device
        self.amp_dtype, self.amp, self.clip_grad, self.world = amp_dtype, amp, clip_grad, world
        self.params = {name: [p for g in opt.param_groups for p in g["params"]] for name, opt in optimizers.items()}

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass: under --amp's autocast, and labelled "forward" for the profiler (not in a compiled
        step, whose tracer takes torch.autocast but not a stack of contexts)."""
        if torch.compiler.is_compiling():
            return torch.autocast(self.device.type, self.amp_dtype, enabled=self.amp)
        stack = contextlib.ExitStack()
        stack.enter_context(record_function("forward"))
        stack.enter_context(torch.autocast(self.device.type, self.amp_dtype, enabled=self.amp))
        return stack

    def update(self, loss: torch.Tensor, optimizer: str, retain_graph: bool = False) -> None:
        """zero_grad, backward, (all-reduce), unscale, clip the optimizer's parameters, step."""
        opt = self.optimizers[optimizer]
        params = self.params[optimizer]
        with record_function("backward"):
            opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward(retain_graph=retain_graph)
        with record_function("optimizer"):
            if self.world.distributed:
                average_gradients(params, self.world)
            self.scaler.unscale_(opt)
            if self.clip_grad > 0:
                torch.nn.utils.clip_grad_norm_(params, self.clip_grad)
            self.scaler.step(opt)

    def all_reduce_mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The mean of ``tensor`` over the processes (a copy of it in a run of one process)."""
        return all_reduce_sum(tensor.detach(), self.world) / self.world.size
