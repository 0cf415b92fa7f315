"""The registry of models: a model is a class registered by name; families are found by walking this package.

Adding a model is adding a file in its family's folder (``facegen/models/FAMILY/``) whose class is decorated
with :func:`register`: no other module changes. :func:`model_class` imports every family module once, so the
registry is complete before any name is looked up.
"""

from __future__ import annotations

import importlib
import pkgutil

from facegen.core.errors import FacegenError
from facegen.models.base import Model, ModelConfig

MODELS: dict[str, type[Model]] = {}
_discovered = False


def register(name: str):
    """Class decorator: make ``cls`` trainable and loadable as ``name``."""

    def wrap(cls: type[Model]) -> type[Model]:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is registered twice ({MODELS[name].__qualname__}, "
                             f"{cls.__qualname__})")
        cls.name = name
        MODELS[name] = cls
        return cls

    return wrap


def discover() -> dict[str, type[Model]]:
    """Import every module under facegen.models (once), so every family has registered its models."""
    global _discovered
    if not _discovered:
        import facegen.models as pkg

        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            importlib.import_module(info.name)
        _discovered = True
    return MODELS


def model_class(name: str) -> type[Model]:
    """The registered model ``name``, or a one-line error listing the names."""
    models = discover()
    if name not in models:
        raise FacegenError(f"unknown model '{name}': choose one of {', '.join(sorted(models))}")
    return models[name]


def build_model(name: str, cfg: ModelConfig | dict) -> Model:
    """Model ``name`` built from its config (or the config's dict, as saved in flags.json)."""
    cls = model_class(name)
    if isinstance(cfg, dict):
        cfg = cls.Config.from_dict(cfg)
    return cls(cfg)
