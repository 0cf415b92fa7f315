"""Model registry: a new model is a class registered here by name, and every script works with it."""

from facegen.core.errors import FacegenError
from facegen.models.base import FaceModel, ModelConfig
from facegen.models.dfcvae import DFCVAE
from facegen.models.ssvae import SemiSupervisedCVAE
from facegen.models.vae import AE, CVAE, VAE

MODELS: dict[str, type[FaceModel]] = {"ae": AE, "vae": VAE, "cvae": CVAE, "sscvae": SemiSupervisedCVAE,
                                   "dfcvae": DFCVAE}


def build_model(name: str, cfg: ModelConfig) -> FaceModel:
    """The registered model ``name`` built from ``cfg``."""
    if name not in MODELS:
        raise FacegenError(f"unknown model '{name}': choose one of {', '.join(MODELS)}")
    return MODELS[name](cfg)


__all__ = ["MODELS", "FaceModel", "ModelConfig", "build_model"]
