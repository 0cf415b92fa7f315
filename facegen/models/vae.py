"""The three models of the Conditional Smiles study, differing only in two switches."""

from facegen.models.base import FaceModel


class AE(FaceModel):
    """Deterministic autoencoder: reconstruction loss only."""


class VAE(FaceModel):
    """Gaussian VAE: reconstruction + beta * KL(q(z|x) || N(0, I))."""

    variational = True


class CVAE(FaceModel):
    """Conditional VAE: encoder sees (x, y), decoder sees [z, y]; y is the smile degree (and more)."""

    variational = True
    conditional = True
