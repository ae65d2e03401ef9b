"""The image3d step: concept image -> one watertight, coloured raw mesh ("mesh" GLB)."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.image3d.options import Image3dOptions

STEP = StepDefinition(
    name="image3d",
    description="Concept image to one watertight, coloured raw mesh",
    consumes=("image",),
    produces=("mesh",),
    backends={"inflate": BackendSpec("services.image3d.backends.inflate:InflateBackend", pool="cpu")},
    default_backend="inflate",
    options=Image3dOptions,
    required_inputs=("image",),
    gate="services.image3d.gates:check_mesh_output",
    gate_aliases=("mesh",),
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=0, max_tasks=8, backlog_per_task=2),
    done_message="mesh ready",
)
