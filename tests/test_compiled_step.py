"""The training step: torch's Adam without the torch._dynamo import (the same update bit for bit, no dynamo in a
training process), and the whole step compiled (``TrainConfig.compile``) giving the eager step's losses."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from helpers import ROOT

from facegen.core.optim import Adam, compile_ready
from facegen.data.faceset import FaceSet
from facegen.models.registry import build_model
from facegen.train.trainer import TrainConfig, Trainer


def test_adam_steps_as_torch_adam_bit_for_bit():
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    compile_ready(False)
    opts = [Adam(nets[0].parameters(), lr=1e-2, foreach=True),
            torch.optim.Adam(nets[1].parameters(), lr=1e-2, foreach=True)]
    for _ in range(5):
        x = torch.randn(7, 6)
        for net, opt in zip(nets, opts, strict=True):
            opt.zero_grad(set_to_none=True)
            net(x).square().mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)
    saved = opts[0].state_dict()
    assert saved.keys() == opts[1].state_dict().keys() and torch.equal(saved["state"][0]["exp_avg"],
                                                                       opts[1].state_dict()["state"][0]["exp_avg"])


def test_a_training_process_never_imports_dynamo():
    """torch._dynamo (and sympy) cost about a second of every command: building and stepping the optimizer, the
    schedule, a checkpoint of their state and its reload import neither."""
    code = textwrap.dedent("""
        import sys, tempfile, torch
        from pathlib import Path
        from facegen.data.faceset import FaceSet
        from facegen.models.registry import build_model
        from facegen.train.trainer import TrainConfig, Trainer
        n = 12
        faces = FaceSet(torch.randint(0, 255, (n, 3, 32, 32), dtype=torch.uint8), torch.zeros(n, 1), ["smile"],
                        torch.ones(n, dtype=torch.bool), [str(i) for i in range(n)])
        model = build_model("cvae", dict(size=32, channels=3, cond_dim=1, base_channels=8))
        with tempfile.TemporaryDirectory() as out:
            t = Trainer(model, faces, faces.subset(torch.arange(4)), TrainConfig(batch_size=4), Path(out),
                        torch.device("cpu"), {})
            t.train_epoch()
            for name, opt in t.optimizers.items():
                opt.load_state_dict(opt.state_dict())
        print(sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def faces(n: int = 24) -> FaceSet:
    g = torch.Generator().manual_seed(1)
    return FaceSet(torch.randint(0, 255, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                   torch.rand(n, 1, generator=g) * 2 - 1, ["smile"], torch.ones(n, dtype=torch.bool),
                   [str(i) for i in range(n)])


def losses(compile_mode: str, tmp_path, backend: str = "aot_eager") -> tuple[list[float], list[torch.Tensor]]:
    torch.manual_seed(0)
    data = faces()
    model = build_model("cvae", dict(size=32, channels=3, cond_dim=1, base_channels=8, latent_size=4))
    cfg = TrainConfig(batch_size=8, compile=compile_mode, compile_backend=backend)
    trainer = Trainer(model, data, data.subset(torch.arange(4)), cfg, tmp_path / f"{compile_mode}-{backend}",
                      torch.device("cpu"), {})
    out = []
    for batch in list(trainer.batches())[:3]:
        out.append(float(trainer.train_step(batch, trainer.step)["loss"]))
    compile_ready(False)
    return out, [p.detach().clone() for p in model.parameters()]


@pytest.mark.filterwarnings("ignore")
def test_the_compiled_step_gives_the_eager_losses(tmp_path):
    """The whole step (forward, loss, backward, clipping, Adam) through torch.compile's graph capture (AOTAutograd
    without generating code, so the test needs no compiler): three steps give the eager step's losses and weights
    to float tolerance (the compiled graphs may order sums differently)."""
    eager, eager_weights = losses("off", tmp_path)
    compiled, compiled_weights = losses("default", tmp_path)
    assert eager[0] != eager[2]  # the steps do train
    assert compiled == pytest.approx(eager, rel=1e-4)
    for a, b in zip(eager_weights, compiled_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_the_step_compiled_to_code_draws_the_eager_noise(tmp_path):
    """Inductor (C++ code for the CPU, a minute to compile here) with the VAE's reparameterisation noise drawn from
    torch's generator, as in the eager step: the first step's loss is the eager one to float rounding (with
    inductor's own random numbers it differed by 0.3 %), and three steps stay within float tolerance."""
    eager, eager_weights = losses("off", tmp_path)
    compiled, compiled_weights = losses("reduce-overhead", tmp_path, backend="inductor")
    assert compiled[0] == pytest.approx(eager[0], rel=1e-6)
    assert compiled == pytest.approx(eager, rel=1e-5)
    for a, b in zip(eager_weights, compiled_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
