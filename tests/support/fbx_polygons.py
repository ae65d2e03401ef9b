"""A function the shared Blender child runs for tests: the polygons of an exported FBX."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fbx_polygons(fbx: bytes, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Import FBX bytes into the empty scene: each polygon's corner count and the vertex
    positions in glTF axes (+Y up), world transforms applied."""
    import bpy

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asset.fbx"
        path.write_bytes(fbx)
        bpy.ops.import_scene.fbx(filepath=str(path))
    meshes = [ob for ob in bpy.data.objects if ob.type == "MESH"]
    positions = [
        (world.x, world.z, -world.y)  # Blender's +Z up back to glTF's +Y up
        for ob in meshes
        for world in (ob.matrix_world @ vertex.co for vertex in ob.data.vertices)
    ]
    return {
        "sizes": [polygon.loop_total for ob in meshes for polygon in ob.data.polygons],
        "positions": positions,
    }
