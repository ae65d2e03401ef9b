"""Hunyuan3D-2's shape model (hy3dgen) as the image3d step's "hunyuan3d" backend runs it."""
