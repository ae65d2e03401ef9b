"""Backends of the image3d step, one module each."""
