"""The flow family: Glow, an invertible network with an exact likelihood (bits/dim) and an exact encoder."""
