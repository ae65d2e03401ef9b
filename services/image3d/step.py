"""The image3d step: concept image -> one watertight, coloured raw mesh ("mesh" GLB)."""

from __future__ import annotations

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
from services.image3d.backends.inflate import InflateBackend
from services.image3d.options import parse_options


def run_image3d(backend: StepBackend, request: StepRequest, progress: Progress) -> StepOutput:
    if "image" not in request.inputs:
        raise StepError(ErrorCode.INVALID_INPUT, "image3d: the input 'image' is missing")
    parse_options(request.params)
    output = backend.run(request, progress)
    check_mesh_output(output)
    progress(1.0, "mesh ready")
    return output


def check_mesh_output(output: StepOutput) -> None:
    """Quality gate: the "mesh" output is one closed, consistently wound component."""
    mesh_file = next((f for f in output.files if f.name == "mesh"), None)
    if mesh_file is None:
        raise StepError(ErrorCode.INTERNAL, "image3d: the backend returned no 'mesh' output")
    mesh = read_glb(mesh_file.data).mesh
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    if not meshops.is_closed_manifold(faces):
        raise StepError(ErrorCode.INTERNAL, "image3d: the reconstructed mesh is not watertight")
    count, _ = meshops.components(faces, len(positions))
    if count != 1:
        raise StepError(ErrorCode.INTERNAL, f"image3d: the reconstructed mesh has {count} components, not 1")


STEP = StepDefinition(
    name="image3d",
    consumes=("image",),
    backends={"inflate": InflateBackend},
    default_backend="inflate",
    run=run_image3d,
    pool="gpu",
)
