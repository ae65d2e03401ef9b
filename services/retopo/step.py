"""The retopo step: raw mesh -> game-ready LOD0/LOD1/LOD2 with UVs and baked base colour."""

from __future__ import annotations

from assetcore.blender import BPY
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.retopo.options import LOD_LEVELS, RetopoOptions

STEP = StepDefinition(
    name="retopo",
    description="Remesh to the face budget, repair, symmetry, UVs, texture bake, LODs",
    consumes=("mesh",),
    produces=tuple(name for name, _ in LOD_LEVELS),
    backends={
        "decimate": BackendSpec("services.retopo.backends.decimate:DecimateBackend", pool="cpu"),
        "instant_meshes": BackendSpec(
            "services.retopo.backends.instant_meshes:InstantMeshesBackend", pool="cpu"
        ),
        "blender": BackendSpec(
            "services.retopo.backends.blender:BlenderBackend", pool="cpu", requires=(BPY,)
        ),
    },
    default_backend="decimate",
    options=RetopoOptions,
    required_inputs=("mesh",),
    gate="services.retopo.gates:check_lods",
    gate_aliases=("topology",),
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=0, max_tasks=10, backlog_per_task=4),
    done_message="LODs ready",
)
