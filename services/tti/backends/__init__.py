"""Backends of the tti step, one module each."""
