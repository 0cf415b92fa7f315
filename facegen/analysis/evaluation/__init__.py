"""Measuring runs and edits: metrics, sample quality, comparisons, edit evaluation, studies."""
