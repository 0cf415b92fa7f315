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
- its **capabilities** (:data:`CAPABILITIES`), so a script can tell in one line what a run cannot do.
"""

from __future__ import annotations

import abc
import dataclasses
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

# encode: image (+ condition) -> latent code;  decode: latent code (+ condition) -> image;  sample: draw from
# the prior;  log_likelihood: exact log p(x);  predict_condition: the condition from an image (q(y|x));
# classify: logits for labels;  translate: image -> image (e.g. depth map -> face);  embed: image -> a unit
# vector whose distances compare faces (an identity embedding);  edit: image + target condition -> the same
# image with only the expression changed (an expression editor)
CAPABILITIES = ("encode", "decode", "sample", "log_likelihood", "predict_condition", "classify", "translate",
                "embed", "edit")


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


class Step(Protocol):
    """The trainer's side of one training step, handed to :meth:`Model.train_step`."""

    def autocast(self) -> AbstractContextManager:
        """Mixed precision for the forward pass when --amp is on (a no-op otherwise)."""

    def update(self, loss: torch.Tensor, optimizer: str, retain_graph: bool = False) -> None:
        """Zero that optimizer's gradients, backpropagate ``loss`` (scaled under float16), average the gradients
        over processes, clip them, and step the optimizer."""


class Model(nn.Module, metaclass=abc.ABCMeta):
    """Base of every model. Subclasses set ``Config``, ``capabilities``, ``conditional`` and implement
    :meth:`train_step`; the others have defaults that suit a model with one optimizer."""

    name: ClassVar[str] = ""  # set by register()
    Config: ClassVar[type[ModelConfig]] = ModelConfig
    capabilities: ClassVar[frozenset[str]] = frozenset()
    conditional: ClassVar[bool] = False  # the model sees the condition vector y (smile degree, ...)
    summary: ClassVar[str] = ""  # one line for --help and the README
    schedule_every: ClassVar[str] = "epoch"  # when the trainer steps the schedulers: "epoch" or "step"
    # flags that make a family's script train another model of the family, e.g. {"--unlabeled": "sscvae"}
    # (any value) or {"--loss=perceptual": "dfcvae"} (that value)
    variants: ClassVar[dict[str, str]] = {}
    uses_unlabeled: ClassVar[bool] = False  # trains on labelled and unlabelled faces (--unlabeled)
    uses_pairs: ClassVar[bool] = False  # trains on depth -> face pairs (--pairs DIR, else the toy pairs)
    uses_paired_count: ClassVar[bool] = False  # --paired_count N: only N training pairs keep their photo as target
    uses_unpaired: ClassVar[bool] = False  # draws real faces from a second set (--unpaired): see use_unpaired
    # "attributes": a CelebA face's 40 attributes are its y; "person": y is one column holding the person's class
    # number (training people 0 .. cond_dim - 1, held-out people above), for identity nets
    condition_source: ClassVar[str] = "conditions"
    fixed_length: ClassVar[bool] = False  # its schedule spans the whole run, so --resume may not change --n_epochs

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    @property
    def cond_dim(self) -> int:
        return self.cfg.cond_dim if self.conditional else 0

    @classmethod
    def can(cls, capability: str) -> bool:
        return capability in cls.capabilities

    @classmethod
    def require(cls, capability: str, what: str) -> None:
        """A one-line error when this kind of model cannot do what a script needs."""
        if capability not in cls.capabilities:
            raise FacegenError(f"{what} needs a model that can {capability.replace('_', ' ')}, and a {cls.name} "
                               f"run cannot: use a run of a model that can (see the README's model table)")

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
        if cls.uses_unpaired and cls.use_unpaired is Model.use_unpaired:
            raise TypeError(f"{cls.__name__} sets uses_unpaired and so must define use_unpaired()")

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
        once before training by models with ``uses_unpaired`` (each of which defines it: checked when the class
        is made). Any other model takes none."""
        raise FacegenError(f"the {self.name} model trains on no unpaired faces (--unpaired)")

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """Per-epoch vectors to keep in the run's history (e.g. the variance of each latent dimension); the
        trainer plots each as a heat map over epochs."""
        return {}

    # ---- optional hooks of decoder-capable models, for steering (facegen.analysis.directions.principal) ------------
    def first_layer_weight(self) -> torch.Tensor | None:
        """SeFa's hook: the matrix A (out_features, latent_size) by which the generator's first layer multiplies
        the latent code z (only z's columns, not a condition's); None when the model has no such layer."""
        return None

    def generator_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | None:
        """GANSpace's hook: an intermediate activation of the generator for codes z (and conditions y), flattened
        to (N, D); None when the model exposes none."""
        return None


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
