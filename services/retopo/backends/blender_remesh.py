"""Runs inside the shared Blender child process (see assetcore.blender), never in the service.

Voxel remesh with fix-poles first (QuadriFlow refuses meshes with very short edges even
when they are watertight), then QuadriFlow to the face target, then `Mesh.validate()`.
Symmetric sources are symmetrised after QuadriFlow (cut at x = 0, the +x side mirrored),
as QuadriFlow's own symmetry option can leave the seam open. QuadriFlow lands only near its
target, so when it misses by more than RETRY_TOLERANCE it runs again on the same voxel mesh
with the target scaled by the miss, and the closer result is kept. It is deterministic for
a given seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assetcore.worker.backend import ErrorCode, StepError

Report = Callable[[float, str], None]

RETRY_TOLERANCE = 0.08  # further off than this (the step's gate allows 10 %), run QuadriFlow again
SEAM_MERGE_SHARE = 0.05  # of the voxel size: vertices this close on the mirror plane merge


@dataclass(frozen=True)
class QuadriflowSettings:
    target_faces: int
    voxel_size: float  # of the voxel remesh before QuadriFlow
    symmetric: bool  # symmetrise about x = 0 afterwards
    seed: int


def quadriflow_remesh(
    positions: npt.NDArray[np.float64],
    triangles: npt.NDArray[np.int64],
    settings: QuadriflowSettings,
    *,
    report: Report,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Returns (positions, polygon sizes, polygon vertex indices flattened)."""
    import bpy

    obj = _mesh_object(bpy, positions, triangles)
    report(0.1, f"loaded {len(triangles)} triangles")
    mesh = obj.data
    mesh.remesh_voxel_size = settings.voxel_size
    mesh.use_remesh_fix_poles = True
    with _selected(bpy, obj):
        bpy.ops.object.voxel_remesh()
    report(0.3, f"voxel remesh: {len(obj.data.polygons)} faces")
    remeshed = obj.data.copy()
    target_faces = settings.target_faces
    attempt = _quadriflow(bpy, obj, target_faces, settings)
    report(0.6, f"QuadriFlow: {attempt} faces")
    if abs(attempt - target_faces) > RETRY_TOLERANCE * target_faces:
        first = obj.data
        obj.data = remeshed
        corrected = max(round(target_faces * target_faces / attempt), 4)
        retry = _quadriflow(bpy, obj, corrected, settings)
        report(0.9, f"QuadriFlow again, asked for {corrected}: {retry} faces")
        if abs(retry - target_faces) >= abs(attempt - target_faces):
            obj.data = first
    obj.data.validate()
    return _mesh_arrays(obj.data)


def _quadriflow(bpy: Any, obj: Any, target_faces: int, settings: QuadriflowSettings) -> int:
    """QuadriFlow (then symmetrise) the object's mesh in place; returns its face count."""
    with _selected(bpy, obj):
        result = bpy.ops.object.quadriflow_remesh(
            mode="FACES",
            target_faces=target_faces,
            use_mesh_symmetry=False,  # its seam can stay open: `_symmetrize` does it instead
            use_preserve_sharp=False,
            use_preserve_boundary=False,
            smooth_normals=False,
            seed=settings.seed,
        )
    if "FINISHED" not in result or len(obj.data.polygons) == 0:
        raise StepError(ErrorCode.INTERNAL, f"blender: QuadriFlow failed ({', '.join(sorted(result))})")
    if settings.symmetric:
        _symmetrize(obj.data, settings.voxel_size * SEAM_MERGE_SHARE)
    return len(obj.data.polygons)


def _symmetrize(mesh: Any, merge_distance: float) -> None:
    """Cut at x = 0 and replace the x < 0 side with the mirror image of the x > 0 side."""
    import bmesh

    editable = bmesh.new()
    editable.from_mesh(mesh)
    bmesh.ops.symmetrize(
        editable,
        input=[*editable.verts, *editable.edges, *editable.faces],
        direction="X",
        dist=merge_distance,
    )
    editable.to_mesh(mesh)
    editable.free()


def _mesh_object(bpy: Any, positions: npt.NDArray[np.float64], triangles: npt.NDArray[np.int64]) -> Any:
    mesh = bpy.data.meshes.new("retopo_source")
    mesh.vertices.add(len(positions))
    mesh.vertices.foreach_set("co", positions.astype(np.float32).reshape(-1))
    mesh.loops.add(triangles.size)
    mesh.loops.foreach_set("vertex_index", triangles.astype(np.int32).reshape(-1))
    mesh.polygons.add(len(triangles))
    mesh.polygons.foreach_set("loop_start", np.arange(0, triangles.size, 3, dtype=np.int32))
    mesh.update()
    obj = bpy.data.objects.new("retopo", mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    return obj


def _selected(bpy: Any, obj: Any) -> Any:
    return bpy.context.temp_override(
        object=obj, active_object=obj, selected_objects=[obj], selected_editable_objects=[obj]
    )


def _mesh_arrays(mesh: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    positions = np.zeros(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", positions)
    sizes = np.zeros(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    corners = np.zeros(len(mesh.loops), np.int32)
    mesh.loops.foreach_get("vertex_index", corners)
    return positions.reshape(-1, 3).astype(np.float64), sizes.astype(np.int64), corners.astype(np.int64)
