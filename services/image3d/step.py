"""The image3d step: concept image -> one watertight, coloured raw mesh ("mesh" GLB)."""

from __future__ import annotations

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.image3d.options import Image3dOptions


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


STEP = StepDefinition(
    name="image3d",
    description="Concept image to one watertight, coloured raw mesh",
    consumes=("image",),
    produces=("mesh",),
    backends={"inflate": BackendSpec("services.image3d.backends.inflate:InflateBackend", pool="cpu")},
    default_backend="inflate",
    options=Image3dOptions,
    required_inputs=("image",),
    gate=check_mesh_output,
    gate_aliases=("mesh",),
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=0, max_tasks=8, backlog_per_task=2),
    done_message="mesh ready",
)
