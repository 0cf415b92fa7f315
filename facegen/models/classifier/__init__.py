"""Classifiers trained by the one trainer: the attribute net (judge of edits, feature net of the DFC-VAE)."""
