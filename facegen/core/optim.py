"""torch's Adam without importing ``torch._dynamo`` in a process that never compiles.

``torch.optim.Optimizer`` wraps ``add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict`` in
``torch._disable_dynamo``, which imports ``torch._dynamo`` (and sympy) on the first call only to build the
dynamo-disabled version of the method, cached on the function as ``__dynamo_disable``; and every ``Adam.step``
imports it to place two graph breaks. Neither does anything unless the call runs inside ``torch.compile``. The
import is about a second of every training command (a fifth of cvae.py's start-up at the study's setting), so
:func:`compile_ready` ``(False)`` caches each plain method as its own disabled version and :class:`Adam` steps
under ``no_grad`` without the graph breaks; ``compile_ready(True)`` undoes the caching before a compiled step. Where
torch's wrappers differ from these (another version), nothing is changed and torch imports dynamo as before.
"""

from __future__ import annotations

import torch

WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
CACHE = "__dynamo_disable"  # where torch._compile._disable_dynamo keeps the disabled version of a function


def _plain(name: str):
    """The function torch._disable_dynamo wraps as Optimizer.<name>, or None if that is not how it is wrapped."""
    wrapper = getattr(torch.optim.Optimizer, name, None)
    plain = getattr(wrapper, "__wrapped__", None)
    code = getattr(wrapper, "__code__", None)
    return plain if plain is not None and code is not None and code.co_filename.endswith("_compile.py") else None


def compile_ready(compiling: bool) -> None:
    """``False``: the optimizer methods stop importing torch._dynamo (their disabled version is themselves, which is
    exact outside torch.compile); ``True``: torch's own lazy wrappers again, as a compiled step needs."""
    for name in WRAPPED:
        plain = _plain(name)
        if plain is None:
            continue
        if compiling:
            if getattr(plain, CACHE, None) is plain:
                delattr(plain, CACHE)
        elif getattr(plain, CACHE, None) is None:
            setattr(plain, CACHE, plain)


_STEP = getattr(torch.optim.Adam.step, "__wrapped__", None)  # Adam's update without its graph-break wrapper


class Adam(torch.optim.Adam):
    """torch.optim.Adam (the same update, bit for bit) whose step outside torch.compile runs under ``no_grad``
    without the wrapper that imports torch._dynamo for its graph breaks."""

    def step(self, closure=None):
        if _STEP is None or self.defaults["differentiable"] or torch.compiler.is_compiling():
            return super().step(closure)
        with torch.no_grad():
            return _STEP(self, closure)
