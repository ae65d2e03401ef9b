"""Geometry shared by the mesh steps: the asset model, GLB I/O, previews."""
