"""A model's latent space: encoding, decoding, prior samples, condition vectors, sweeps, interpolation, its q(y|x)."""
