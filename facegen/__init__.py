"""facegen: controllable face generation (AE, VAE, CVAE, ...) on face photos."""
