"""A tiny training run under torchrun for tests/test_distributed.py (and, with a world of one, its reference).

``python -m torch.distributed.run ... tests/ddp_worker.py OUT`` first saves, on every rank, the results of the two
collectives the trainer relies on (gradient averaging and global-batch BatchNorm, forward and backward) to
OUT/collectives{r}.pt; then it trains an AE, a CVAE, a conditional Glow (ActNorm's data-dependent initialisation
from the global batch) and a DC-GAN with an EMA generator (two optimizers) for 2 epochs with the Trainer on every
rank. Rank 0 writes the run folders OUT/MODEL (training.csv, checkpoints) and EVERY rank saves its model's state
dict to OUT/MODEL/rank{r}.pt, so the test can compare the ranks bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from facegen.core import distributed
from facegen.core.distributed import ONE_PROCESS, World, average_gradients
from facegen.core.seeding import seed_everything
from facegen.data.faceset import FaceSet
from facegen.models.registry import build_model
from facegen.nn.sync_batchnorm import GlobalBatchNorm2d
from facegen.runs import prepare_run_dir
from facegen.train.trainer import TrainConfig, Trainer

N_FACES = 96  # 72 training faces: at 8 per process and 2 processes, 4 full global batches and one of 8
BATCH = 8  # per process
EPOCHS = 2
CONFIGS = {"ae": dict(size=32, channels=3, latent_size=4, cond_dim=1, base_channels=8),
           "cvae": dict(size=32, channels=3, latent_size=4, cond_dim=1, base_channels=8),
           "glow": dict(size=32, channels=3, cond_dim=1, levels=2, steps=2, hidden=16, warmup_steps=2),
           "dcgan": dict(size=32, channels=3, cond_dim=0, latent_size=8, g_channels=8, d_channels=8, ema=0.9)}
MODELS = tuple(CONFIGS)


def ramp_faces(n: int = N_FACES, size: int = 32) -> FaceSet:
    """Learnable 32 px images: a vertical colour ramp with a bright blob whose height is the label."""
    g = torch.Generator().manual_seed(0)
    y = torch.rand(n, 1, generator=g) * 2 - 1
    colour = torch.rand(n, 3, 1, 1, generator=g)
    img = colour * torch.linspace(0, 1, size)[None, None, :, None] * torch.ones(1, 1, 1, size)
    rows = ((y[:, 0] + 1) / 2 * (size - 8)).long()
    for i, r in enumerate(rows.tolist()):
        img[i, :, r:r + 6, size // 2 - 3:size // 2 + 3] = 1.0
    images = (img * 255).round().to(torch.uint8)
    return FaceSet(images, y, ["smile"], torch.ones(n, dtype=torch.bool), [f"{i}.png" for i in range(n)])


def make_trainer(out: Path, model: str, batch_size: int, world: World = ONE_PROCESS,
                 device: torch.device | None = None) -> Trainer:
    """The same model, data and settings on every rank (and for the one-process reference)."""
    seed_everything(0)
    train, val = ramp_faces().split(0.25, seed=0)
    net = build_model(model, CONFIGS[model])
    cfg = TrainConfig(n_epochs=EPOCHS, lr=2e-3, batch_size=batch_size, eval_every=1, seed=0)
    return Trainer(net, train, val, cfg, out, device or torch.device("cpu"), {"test": True}, world)


def batchnorm_inputs(world_size: int, per_rank: int = 3) -> dict[str, torch.Tensor]:
    """A global batch (far from zero mean, so E[x^2] - E[x]^2 is put to the test), upstream gradients for it and
    affine BatchNorm parameters; rank r gets rows r * per_rank onwards of ``x`` and ``w``."""
    g = torch.Generator().manual_seed(0)
    n = world_size * per_rank
    return {"x": torch.randn(n, 4, 5, 5, generator=g) * 3 + 5, "w": torch.randn(n, 4, 5, 5, generator=g),
            "weight": torch.rand(4, generator=g) + 0.5, "bias": torch.randn(4, generator=g)}


def collectives(world: World) -> dict[str, torch.Tensor]:
    """This rank's gradient after averaging rank + 1 everywhere, and GlobalBatchNorm2d's output and gradients
    on its slice of :func:`batchnorm_inputs` for the loss sum(w * bn(x)) over the global batch."""
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.full((3,), world.rank + 1.0)
    average_gradients([p, torch.nn.Parameter(torch.zeros(2))], world)  # a parameter without gradient is skipped
    inputs = batchnorm_inputs(world.size)
    rows = slice(world.rank * 3, (world.rank + 1) * 3)
    x = inputs["x"][rows].clone().requires_grad_()
    bn = GlobalBatchNorm2d(4)
    with torch.no_grad():
        bn.weight.copy_(inputs["weight"])
        bn.bias.copy_(inputs["bias"])
    y = bn(x)
    (y * inputs["w"][rows]).sum().backward()
    return {"avg_grad": p.grad, "y": y.detach(), "x_grad": x.grad, "weight_grad": bn.weight.grad,
            "bias_grad": bn.bias.grad, "running_mean": bn.running_mean, "running_var": bn.running_var}


def main(out: Path) -> None:
    world = distributed.world_from_env()
    device = distributed.start(world, torch.device("cpu"))
    torch.save(collectives(world), out / f"collectives{world.rank}.pt")
    for model in MODELS:
        folder = out / model
        if world.is_main:
            prepare_run_dir(folder, resume=False)
        distributed.barrier(world)
        trainer = make_trainer(folder, model, BATCH, world, device)
        trainer.fit()
        torch.save(trainer.model.state_dict(), folder / f"rank{world.rank}.pt")
    distributed.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
