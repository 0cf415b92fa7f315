"""Utilities every layer may use: the one-line error, atomic files, seeding and RNG state, amp, distributed."""
