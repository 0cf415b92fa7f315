"""The VAE family: AE, VAE, CVAE, the semi-supervised CVAE and the DFC-VAE, on one conv encoder / decoder."""
