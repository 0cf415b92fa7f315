"""Editing a face: residual editing, inversion, pivotal tuning, the expression editor, the photo pipeline."""
