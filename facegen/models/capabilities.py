"""What a trained model can do, as typed protocols: a model implements the methods, a script checks
``isinstance(model, Decoder)``, or calls :func:`require` (on the model, or on its class before the weights are
loaded), which says in one line what a run cannot do. Which registered model implements which protocol is
docs/architecture.md's model table, checked by tests/test_contract.py.

| protocol           | methods and attributes                                   |
| Encoder            | ``encode(x, y)`` -> (code, posterior log-variance or None) |
| Decoder            | ``decode(z, y)``, ``latent_size``                        |
| Sampler            | ``sample(n, y, temperature, generator)``                 |
| EvidenceBound      | ``elbo(x, y, labelled)``                                 |
| Likelihood         | ``bits_per_dim(x, y)``, ``n_bits``                       |
| SmilePredictor     | ``predict_smile(x)``: q(y|x) for the smile degree        |
| Translator         | ``translate(source)``, ``reverse``                       |
| Embedder           | ``embed(x)``: unit identity embeddings                   |
| SteerableGenerator | ``first_layer_weight()``, ``generator_features(z, y)``   |
| Editor             | ``edit(x, target)``, ``degree(x)``                       |
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from facegen.core.errors import FacegenError
from facegen.models.base import Model


@runtime_checkable
class Encoder(Protocol):
    """Images (+ conditions) -> latent codes."""

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Codes (B, latent_size) of images in [0, 1], and the posterior log-variance (None when the code is not
        a Gaussian posterior's mean)."""


@runtime_checkable
class Decoder(Protocol):
    """Latent codes (+ conditions) -> images."""

    @property
    def latent_size(self) -> int:
        """The length of a code."""

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Images in [0, 1] for codes z (B, latent_size) and conditions y (B, cond_dim) of a conditional model."""


@runtime_checkable
class Sampler(Protocol):
    """Faces drawn from the model's prior (a standard normal over the decoder's codes)."""

    def sample(self, n: int, y: Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """n faces in [0, 1] decoded from codes ~ N(0, temperature^2 I) drawn from ``generator``."""


@runtime_checkable
class EvidenceBound(Protocol):
    """A variational model whose training loss is a pixel-space ELBO."""

    def elbo(self, x: Tensor, y: Tensor, labelled: Tensor | None = None) -> Tensor:
        """The batch-mean ELBO -(reconstruction loss + KL) per face, in the training loss's units."""


@runtime_checkable
class Likelihood(Protocol):
    """An exact likelihood of n-bit images."""

    @property
    def n_bits(self) -> int:
        """The bit depth the likelihood is of."""

    def bits_per_dim(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Bits per dimension (B,) of images in [0, 1] at ``n_bits``."""


@runtime_checkable
class SmilePredictor(Protocol):
    """The condition predictor q(y|x) of the smile degree."""

    def predict_smile(self, x: Tensor) -> Tensor:
        """The smile degree (B,) in [-1, +1] of images in [0, 1]."""


@runtime_checkable
class Translator(Protocol):
    """Image -> image: a depth map to a face, or (``reverse``) a face to its depth map."""

    reverse: bool

    def translate(self, source: Tensor) -> Tensor:
        """The translated images in [0, 1]."""


@runtime_checkable
class Embedder(Protocol):
    """Images -> unit vectors whose distances compare faces (an identity embedding)."""

    def embed(self, x: Tensor) -> Tensor:
        """Unit embeddings (B, dim) of images in [0, 1]."""


@runtime_checkable
class SteerableGenerator(Protocol):
    """A decoder exposing what SeFa and GANSpace read (facegen.analysis.principal)."""

    def first_layer_weight(self) -> Tensor:
        """The matrix A (out_features, latent_size) by which the first layer multiplies the code z (only z's
        columns, not a condition's)."""

    def generator_features(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """An intermediate activation of the generator for codes z (and conditions y), flattened to (N, D)."""


@runtime_checkable
class Editor(Protocol):
    """Image + target degree -> the same image with only the expression changed. ``draws_shape``: whether its
    output moves the mouth itself (else a photo pipeline first warps the mouth's corners by landmarks)."""

    draws_shape: bool

    def edit(self, x: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Faces x in [0, 1] given degrees ``target`` (B, K): (edited, colour, attention)."""

    def degree(self, x: Tensor) -> Tensor:
        """The model's reading (B, K) of the expression of faces x in [0, 1]."""


ABILITY: dict[type, str] = {
    Encoder: "encode images", Decoder: "decode codes", Sampler: "sample from a prior",
    EvidenceBound: "give a pixel ELBO", Likelihood: "give an exact likelihood", SmilePredictor: "predict the smile",
    Translator: "translate images", Embedder: "embed faces", Editor: "edit expressions",
    SteerableGenerator: "expose its generator (first_layer_weight(), generator_features(z, y))",
}


def implements(cls: type, capability: type) -> bool:
    """Whether the instances of ``cls`` implement the protocol ``capability``, told from the class alone (so a
    script can refuse a run before loading its weights): every method, property and attribute the protocol
    declares is there and not None, the same test as ``isinstance`` on an instance."""
    members = {name for name in (*vars(capability), *vars(capability).get("__annotations__", {}))
               if not name.startswith("_")}
    return all(getattr(cls, name, None) is not None for name in members)


def require(model: Model | type[Model], capability: type, what: str) -> None:
    """A one-line error when ``model`` (or a model of that class) does not implement the protocol ``capability``
    that ``what`` needs."""
    if not implements(model if isinstance(model, type) else type(model), capability):
        raise FacegenError(f"{what} needs a model that can {ABILITY[capability]}, and a {model.name} run cannot: "
                           f"use a run of a model that can (docs/architecture.md lists what each model can do)")


class GaussianPrior:
    """The :class:`Sampler` of a :class:`Decoder` whose prior over codes is a standard normal."""

    def sample(self: Decoder, n: int, y: Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        device = next(self.parameters()).device
        where = device if generator is None else generator.device
        z = torch.randn(n, self.latent_size, generator=generator, device=where)
        return self.decode(temperature * z.to(device), None if y is None else y.to(device))
