"""Backends of the anim step, one module each."""
