"""The GAN family: the DC-GAN (bce, lsgan, wgan-gp; conditional as cgan) and the VAE-GAN (conditional as cvaegan)."""
