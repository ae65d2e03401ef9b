"""Backends of the rig step, one module each."""
