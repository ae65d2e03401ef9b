"""The multiview step: concept image -> six views of the subject ("views", assetcore/multiview.py).

Its own step rather than a stage of image3d: it is a GPU diffusion model that scales, warms
up and costs on its own whichever image3d backend follows (hunyuan3d and triposr colour the
back and sides from the views; the CPU inflate backend ignores them). And its views are an
artifact in their own right: reviewed at a gate before any mesh is built, and kept by the
step cache so that re-running image3d with other options or another backend reuses them
instead of sampling again. Only the *_multiview pipelines include it
(services/orchestrator/pipelines.py).
"""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, ModelUse, Resources, StepDefinition
from services.multiview.options import MultiviewOptions, Zero123ppOptions

STEP = StepDefinition(
    name="multiview",
    description="Concept image to six consistent views (Zero123++ layout)",
    consumes=("image",),
    produces=("views",),
    backends={
        "zero123pp": BackendSpec(
            "services.multiview.backends.zero123pp:Zero123ppBackend",
            pool="gpu",
            options=Zero123ppOptions,
            models=(
                ModelUse("zero123pp", tiny="services.multiview.tiny:build_zero123pp"),
                ModelUse("matte", tiny="assetcore.ml.matting:build_tiny_matte", optional=True),
            ),
        )
    },
    default_backend="zero123pp",
    options=MultiviewOptions,
    required_inputs=("image",),
    opt_in=True,  # every backend needs model weights: deployed only where configured
    gate="services.multiview.gates:check_views",
    gate_aliases=("views",),
    resources=Resources(cpu=4096, memory_mib=16384, min_tasks=0, max_tasks=8, backlog_per_task=2),
    done_message="views ready",
)
