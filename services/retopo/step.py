"""The retopo step: raw mesh -> game-ready LOD0/LOD1/LOD2 with UVs and baked base colour."""

from __future__ import annotations

import numpy as np

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.worker.backend import (
    ErrorCode,
    Progress,
    StepBackend,
    StepDefinition,
    StepError,
    StepOutput,
    StepRequest,
)
from services.retopo.backends.blender import BlenderBackend
from services.retopo.backends.decimate import DecimateBackend
from services.retopo.options import resolve_options
from services.retopo.pipeline import LOD_LEVELS

FACE_COUNT_TOLERANCE = 0.10


def run_retopo(backend: StepBackend, request: StepRequest, progress: Progress) -> StepOutput:
    if "mesh" not in request.inputs:
        raise StepError(ErrorCode.INVALID_INPUT, "retopo: the input 'mesh' is missing")
    options = resolve_options(request.job, request.params)
    output = backend.run(request, progress)
    check_lods(output, options.face_target)
    progress(1.0, "LODs ready")
    return output


def check_lods(output: StepOutput, face_target: int) -> None:
    """Quality gates: every LOD is watertight, textured, has UVs in 0..1 and its share of faces."""
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


STEP = StepDefinition(
    name="retopo",
    consumes=("mesh",),
    backends={"decimate": DecimateBackend, "blender": BlenderBackend},
    default_backend="decimate",
    run=run_retopo,
    pool="cpu",
)
