"""The multiview step: concept image -> six views of the subject ("views", assetcore/multiview.py).

Its own step rather than a stage of image3d: it is a diffusion model on GPU with its own
scaling and warm capacity, its views are an artifact people review (and the step cache keeps),
and both image3d backends (and texture projection) consume them. Only the *_multiview
pipelines include it (services/orchestrator/pipelines.py).
"""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, ModelUse, Resources, StepDefinition

STEP = StepDefinition(
    name="multiview",
    description="Concept image to six consistent views (Zero123++ layout)",
    consumes=("image",),
    produces=("views",),
    backends={
        "zero123pp": BackendSpec(
            "services.multiview.backends.zero123pp:Zero123ppBackend",
            pool="gpu",
            models=(ModelUse("zero123pp", tiny="services.multiview.tiny:build_zero123pp"),),
        )
    },
    default_backend="zero123pp",
    required_inputs=("image",),
    gate_aliases=("views",),
    resources=Resources(cpu=4096, memory_mib=16384, min_tasks=0, max_tasks=8, backlog_per_task=2),
    done_message="views ready",
)
