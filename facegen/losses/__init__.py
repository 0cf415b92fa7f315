"""Loss terms shared by the model families: ELBO terms, adversarial losses, perceptual distances, likelihoods."""
