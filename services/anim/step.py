"""The anim step: rigged GLB -> the same GLB with a clip library ("animated")."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.anim.options import BVH_INPUT, AnimOptions, fill_defaults

STEP = StepDefinition(
    name="anim",
    description="Procedural clip library and BVH retargeting onto the rig",
    consumes=("rigged", "lod1", "lod2", BVH_INPUT),
    produces=("animated",),
    backends={
        "procedural": BackendSpec("services.anim.backends.procedural:ProceduralAnimBackend", pool="cpu")
    },
    default_backend="procedural",
    options=AnimOptions,
    required_inputs=("rigged",),
    gate="services.anim.gates:check_clips",
    job_defaults=fill_defaults,
    gate_aliases=("animation",),
    reads=("animation",),
    resources=Resources(cpu=1024, memory_mib=2048, min_tasks=0, max_tasks=10, backlog_per_task=8),
    done_message="clips ready",
)
