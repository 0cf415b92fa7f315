"""The training step the trainer calls: the model's own, or compiled whole (``--compile MODE``).

``torch.compile`` is given the model's ``train_step`` (forward, loss, backward, gradient all-reduce, clipping and
the optimizer step through :class:`~facegen.train.step.TrainStep`). On a GPU ``reduce-overhead`` replays the
compiled pieces as CUDA graphs, which removes the per-kernel launch cost that bounds these small networks there;
on a CPU it only fuses kernels, and the compile itself costs tens of seconds (measured choice: README, Performance).
Shapes are static (``dynamic=False``): the last, smaller batch of an epoch compiles once more. Random numbers (the
VAEs' reparameterisation noise) come from torch's own generator as in the eager step (inductor's
``fallback_random``), not from inductor's: the compiled step then draws the eager step's noise, and a resumed run
the straight run's (with inductor's own, the first step's loss already differed by 0.3 %).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from facegen.core.optim import compile_ready
from facegen.data.batches import Batch
from facegen.models.base import Model, Step

MODES = ("off", "default", "reduce-overhead", "max-autotune")


def step_function(model: Model, mode: str, backend: str = "inductor") -> Callable[[Batch, Step], dict]:
    """``model.train_step``, or with ``mode`` other than "off" the same step compiled by ``backend`` (the
    optimizer methods then keep torch's dynamo wrappers). Call it before the optimizers are built."""
    if mode not in MODES:
        raise ValueError(f"compile mode {mode!r} is not one of {', '.join(MODES)}")
    compile_ready(mode != "off")
    if mode == "off":
        return model.train_step
    if backend == "inductor":
        from torch._inductor import config as inductor

        inductor.fallback_random = True
    return torch.compile(model.train_step, mode=None if mode == "default" else mode, backend=backend, dynamic=False)
