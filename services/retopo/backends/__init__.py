"""Backends of the retopo step, one module each."""
