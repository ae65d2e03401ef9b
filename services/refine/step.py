"""The refine step: concept image -> clean, centred RGBA "image" (binary matte, 1 px edge); x2 on request."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.refine.options import RefineOptions

STEP = StepDefinition(
    name="refine",
    description="Matte cleanup, framing and optional x2 upscale of the concept image",
    consumes=("image",),
    produces=("image",),
    backends={"cpu": BackendSpec("services.refine.backends.cpu:CpuBackend", pool="cpu")},
    default_backend="cpu",
    options=RefineOptions,
    required_inputs=("image",),
    precheck="services.refine.gates:check_upscale",
    gate="services.refine.gates:check_refined_output",
    interactive=True,
    reads=("upscale",),
    resources=Resources(cpu=2048, memory_mib=4096, min_tasks=1, max_tasks=10, backlog_per_task=8),
    done_message="refined image ready",
)
