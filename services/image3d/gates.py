"""The image3d step's quality gate (runs where the step runs; services/image3d/step.py names it)."""

from __future__ import annotations

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest


def check_mesh_output(output: StepOutput, request: StepRequest) -> None:
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
