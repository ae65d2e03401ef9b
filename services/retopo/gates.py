"""The retopo step's quality gates (run where the step runs; services/retopo/step.py names them)."""

from __future__ import annotations

import numpy as np

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.retopo.options import LOD_LEVELS, RetopoOptions

FACE_COUNT_TOLERANCE = 0.10


def check_lods(output: StepOutput, request: StepRequest) -> None:
    """Quality gates: every LOD is watertight, textured, has UVs in 0..1 and its share of faces."""
    face_target = request.options_as(RetopoOptions).faces
    files = {f.name: f for f in output.files}
    for name, share in LOD_LEVELS:
        if name not in files:
            raise StepError(ErrorCode.INTERNAL, f"retopo: the backend returned no '{name}' output")
        mesh = read_glb(files[name].data).mesh
        _, welded = meshops.weld(mesh.positions, mesh.faces)
        if not meshops.is_closed_manifold(welded):
            raise StepError(ErrorCode.INTERNAL, f"retopo: {name} is not watertight")
        if mesh.uvs is None or mesh.texture_png is None:
            raise StepError(ErrorCode.INTERNAL, f"retopo: {name} has no UVs or no base-colour texture")
        if not (np.all(mesh.uvs >= 0.0) and np.all(mesh.uvs <= 1.0)):
            raise StepError(ErrorCode.INTERNAL, f"retopo: {name} has UVs outside 0..1")
        prefix = "" if name == "mesh" else f"{name}_"
        # Polygons were split into triangles for the GLB; the backend reports how many extra.
        split = output.metrics.get(f"{prefix}triangles", 0.0) - output.metrics.get(f"{prefix}faces", 0.0)
        faces = mesh.face_count - int(split)
        wanted = face_target * share
        if abs(faces - wanted) > FACE_COUNT_TOLERANCE * wanted:
            raise StepError(
                ErrorCode.INTERNAL, f"retopo: {name} has {faces} faces, not within 10 % of {wanted:.0f}"
            )
