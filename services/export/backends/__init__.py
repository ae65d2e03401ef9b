"""Backends of the export step, one module each."""
