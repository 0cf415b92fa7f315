"""Judges of images that did not make them: smile, gender, attributes, identity, the CelebA smile judge."""
