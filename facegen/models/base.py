"""The model contract: what every model of every family is to the trainer, the run folder and the scripts.

A model is an ``nn.Module`` subclass registered by name (:func:`facegen.models.registry.register`) that owns
- its **config**: a dataclass (``Config``) whose fields marked with :func:`option` are its command-line flags
  (help, default, choices), so a training script's ``--help`` shows only what applies to the chosen model;
  the fields of :class:`ModelConfig` itself (size, channels, conditions) come from the data, not from flags;
- its **networks**, built in ``__init__`` from the config;
- its **optimizers and schedules** (:meth:`Model.optimizers`, :meth:`Model.schedulers`): one for a VAE, two
  for a GAN; the trainer checkpoints and steps them without knowing how many there are;
- its **training step** (:meth:`Model.train_step`): the maths of one update on a batch. It may update several
  optimizers, skip one, or keep a buffer; it goes through the trainer's :class:`Step` for autocast, loss
  scaling, gradient averaging over processes and clipping, and returns named scalar terms for the log;
- its **data needs** (:class:`~facegen.data.needs.DataNeeds`): which data flags it takes and which stream the
  trainer feeds it;
- its **capabilities**: the protocols of :mod:`facegen.models.capabilities` it implements (encoder, decoder,
  sampler, ...), which a script checks with ``isinstance``, so it can tell in one line what a run cannot do.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.core.optim import Adam
from facegen.data.batches import Batch
from facegen.data.faceset import FaceSet
from facegen.data.needs import DataNeeds


def option(default: Any, help: str, *, choices: tuple | None = None, flag: str | None = None,
           parse: Callable[[str], Any] | None = None) -> Any:
    """A config field that is also a command-line flag (``--NAME`` unless ``flag`` says otherwise). ``parse``
    turns the flag's text into the field's value (default: the type of ``default``)."""
    meta = {"help": help, "choices": choices, "flag": flag, "parse": parse}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    """The fields every model takes from its data. Subclasses add their own fields with :func:`option`."""

    size: int = 64
    channels: int = 3
    cond_dim: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """The config saved in a run's flags.json (a one-line error for fields this model does not have)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise FacegenError(f"model config has fields {', '.join(unknown)} that {cls.__qualname__} does not "
                               f"know: the run was made by another version; re-train it")
        return cls(**values)

    def check(self) -> None:
        """Refuse, in one line, values that cannot work together (called before any training starts)."""

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        """The fields that are command-line flags."""
        return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


@dataclass(frozen=True)
class OptimSettings:
    """What the trainer's flags say about optimisation; a model builds its optimizers from it."""

    lr: float = 2e-4
    lr_step: int = 250
    lr_gamma: float = 0.5
    n_epochs: int = 1
    steps_per_epoch: int = 1


class Schedule(enum.Enum):
    """When the trainer steps a model's learning-rate schedulers."""

    EPOCH = "epoch"  # once per epoch
    STEP = "step"  # once per batch
    RUN = "run"  # once per batch, over the run's whole length (a one-cycle): --resume may not change --n_epochs

    @property
    def per_step(self) -> bool:
        return self is not Schedule.EPOCH


class Step(Protocol):
    """The trainer's side of one training step, handed to :meth:`Model.train_step`."""

    def autocast(self) -> AbstractContextManager:
        """Mixed precision for the forward pass when --amp is on (a no-op otherwise)."""

    def update(self, loss: torch.Tensor, optimizer: str, retain_graph: bool = False) -> None:
        """Zero that optimizer's gradients, backpropagate ``loss`` (scaled under float16), average the gradients
        over processes, clip them, and step the optimizer."""

    def all_reduce_mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The mean of ``tensor`` over the training processes (the tensor itself with one process), so every
        process takes the same decision from it."""


class Model(nn.Module, metaclass=abc.ABCMeta):
    """Base of every model. Subclasses set ``Config``, ``conditional``, ``data_needs`` and implement
    :meth:`train_step` and the capability protocols they have; the others have defaults that suit a model with
    one optimizer."""

    name: ClassVar[str] = ""  # set by register()
    Config: ClassVar[type[ModelConfig]] = ModelConfig
    conditional: ClassVar[bool] = False  # the model sees the condition vector y (smile degree, ...)
    summary: ClassVar[str] = ""  # one line for --help and the README
    schedule: ClassVar[Schedule] = Schedule.EPOCH
    # flags that make a family's script train another model of the family, e.g. {"--unlabeled": "sscvae"}
    # (any value) or {"--loss=perceptual": "dfcvae"} (that value)
    variants: ClassVar[dict[str, str]] = {}
    data_needs: ClassVar[DataNeeds] = DataNeeds()

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    @property
    def size(self) -> int:
        """The side of the square images the model takes and makes, in pixels."""
        return self.cfg.size

    @property
    def channels(self) -> int:
        return self.cfg.channels

    @property
    def cond_dim(self) -> int:
        """The length of the condition vector y the model sees (0 for an unconditional model)."""
        return self.cfg.cond_dim if self.conditional else 0

    # ---- optimisation -------------------------------------------------------------------------------------
    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        """One Adam over every parameter, named "model"."""
        return {"model": adam(self.parameters(), settings.lr, device)}

    def schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                   settings: OptimSettings) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Each optimizer's learning rate times ``lr_gamma`` every ``lr_step`` epochs (stepped once per epoch)."""
        return {name: torch.optim.lr_scheduler.StepLR(opt, step_size=settings.lr_step, gamma=settings.lr_gamma)
                for name, opt in optimizers.items()}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.data_needs.unpaired and cls.use_unpaired is Model.use_unpaired:
            raise TypeError(f"{cls.__name__} needs unpaired faces and so must define use_unpaired()")

    # ---- the step and what the trainer shows ----------------------------------------------------------------
    @abc.abstractmethod
    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        """One update on ``batch``; returns batch-mean scalar terms (the same names at every step). The first
        term is the one the progress bar shows."""

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Batch-mean validation terms (called under no_grad in eval mode); none by default."""
        return {}

    def snapshot(self, batch: Batch) -> torch.Tensor | None:
        """Images in [0, 1] for the per-epoch grid and the training GIF (reconstructions of ``batch``, or
        samples); None for none. Called in eval mode under no_grad with a fixed random seed."""
        return None

    def use_unpaired(self, faces: FaceSet) -> None:
        """Take the unpaired faces given with --unpaired (kept beside the model, never in its weights); called
        once before training by models whose ``data_needs`` say ``unpaired`` (each of which defines it: checked
        when the class is made). Any other model takes none."""
        raise FacegenError(f"the {self.name} model trains on no unpaired faces (--unpaired)")

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """Per-epoch vectors to keep in the run's history (e.g. the variance of each latent dimension); the
        trainer plots each as a heat map over epochs."""
        return {}


def adam(params, lr: float, device: torch.device, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam, fused on GPUs and multi-tensor elsewhere. (Fused on the CPU is 3x faster a step here, 0.45 against
    1.56 ms for 1.4 M parameters, but 2 torchrun processes then drift 100x further from 1 process at twice the
    batch than multi-tensor Adam does. Its cause in the trainer is not found: parameters, gradients and Adam's
    moments share their memory layout on every rank, and a 1e-6 gradient noise moves fused and multi-tensor
    Adam alike. What is found: torch's fused CPU kernel updates the wrong elements when a gradient's layout
    differs from its parameter's (a channels_last weight with a contiguous gradient), which multi-tensor Adam
    handles; tests/test_distributed.py pins both. Kept off on the CPU.)"""
    fused = device.type == "cuda"
    return Adam(params, lr=lr, betas=betas, fused=fused, foreach=None if fused else True)
