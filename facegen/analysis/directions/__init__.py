"""Directions in latent space: mean difference, SVM / InterFaceGAN, PCA, GANSpace, SeFa, steering by method name."""
