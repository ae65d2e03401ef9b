"""Backends of the refine step, one module each."""
