"""Several processes (torchrun): who this process is, and the few collectives the trainer needs.

Every training script runs unchanged under ``torchrun``: the environment it sets (``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) starts a process group with ``gloo`` on CPUs and ``nccl`` on
GPUs. A plain ``python script.py`` is a world of one process and calls no collective at all, so a
single-process run is exactly what it was before this module existed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from facegen.core.errors import FacegenError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes logs, figures and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


ONE_PROCESS = World()


def world_from_env() -> World:
    """The world torchrun describes in the environment (a world of one without torchrun)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group (once) and return this process's device: ``cuda:LOCAL_RANK`` on GPUs."""
    if not world.distributed:
        return device
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise FacegenError(f"process {world.local_rank} of this node has no GPU ({torch.cuda.device_count()} "
                               f"visible): use --nproc-per-node {torch.cuda.device_count()} or fewer")
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        try:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        except (RuntimeError, ValueError) as e:
            raise FacegenError(f"cannot join the torchrun process group ({str(e).splitlines()[0]}): check "
                               f"--rdzv-endpoint HOST:PORT and that every node can reach it") from None
    return device


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def broadcast_module(module: nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers (the same start everywhere)."""
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def average_gradients(params: list[nn.Parameter], world: World) -> None:
    """Replace each gradient by its mean over the ranks (one flat all-reduce), as DistributedDataParallel does:
    with equal per-rank batches this is the gradient of the loss averaged over the global batch."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def all_reduce_sum(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """The sum over ranks (the tensor itself in a world of one)."""
    if world.distributed:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def gather_to_main(obj: object, world: World) -> list | None:
    """Every rank's ``obj`` on rank 0 (a list in rank order), None elsewhere."""
    if not world.distributed:
        return [obj]
    out = [None] * world.size if world.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
