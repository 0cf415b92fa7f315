"""Expression editors: image + target condition -> the same image with only the expression changed."""
