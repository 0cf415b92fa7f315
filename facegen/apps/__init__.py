"""Interactive windows: a plain state object and a thin matplotlib window over it."""
