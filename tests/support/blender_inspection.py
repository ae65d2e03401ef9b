"""Functions the shared Blender child runs for tests: what Blender makes of an exported file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fbx_summary(fbx: bytes, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Import FBX bytes into the empty scene; list armatures, bones, meshes, actions and sizes."""
    import bpy

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asset.fbx"
        path.write_bytes(fbx)
        bpy.ops.import_scene.fbx(filepath=str(path))
    return _scene_summary()


def glb_summary(glb: bytes, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Import GLB bytes with Blender's glTF importer into the empty scene; summarise it likewise."""
    import bpy

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asset.glb"
        path.write_bytes(glb)
        bpy.ops.import_scene.gltf(filepath=str(path))
    return _scene_summary()


def _scene_summary() -> dict[str, Any]:
    import bpy

    armatures = [ob for ob in bpy.data.objects if ob.type == "ARMATURE"]
    meshes = [ob for ob in bpy.data.objects if ob.type == "MESH"]
    heights = [
        max(v.co.z for v in ob.data.vertices) * ob.matrix_world.to_scale().z
        for ob in meshes
        if ob.data.vertices
    ]
    return {
        "armatures": [ob.name for ob in armatures],
        "bones": [bone.name for ob in armatures for bone in ob.data.bones],
        "meshes": [ob.name for ob in meshes],
        "faces": sum(len(ob.data.polygons) for ob in meshes),
        "actions": sorted(action.name for action in bpy.data.actions),
        "images": sorted(image.name for image in bpy.data.images if image.has_data or image.packed_file),
        "vertex_groups": sorted({group.name for ob in meshes for group in ob.vertex_groups}),
        "top_z": max(heights, default=0.0),
    }
