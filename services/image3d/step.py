"""The image3d step: concept image (and views, when present) -> one watertight, coloured raw mesh."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, ModelUse, Resources, StepDefinition
from services.image3d.hunyuan.options import Hunyuan3dOptions
from services.image3d.options import Image3dOptions
from services.image3d.triposr.options import TriposrOptions

STEP = StepDefinition(
    name="image3d",
    description="Concept image to one watertight, coloured raw mesh",
    # views: the procedural tti's orthographic views (carved and coloured from, with their
    # "materials"), or the multiview step's in the *_multiview pipelines (coloured from).
    consumes=("image", "views", "materials"),
    produces=("mesh",),
    backends={
        "inflate": BackendSpec("services.image3d.backends.inflate:InflateBackend", pool="cpu"),
        "hunyuan3d": BackendSpec(
            "services.image3d.backends.hunyuan3d:Hunyuan3dBackend",
            pool="gpu",
            models=(ModelUse("hunyuan3d-dit", tiny="services.image3d.hunyuan.tiny:build_hunyuan3d"),),
            options=Hunyuan3dOptions,
        ),
        "triposr": BackendSpec(
            "services.image3d.backends.triposr:TriposrBackend",
            pool="gpu",
            models=(ModelUse("triposr", tiny="services.image3d.triposr.tiny:build_triposr"),),
            options=TriposrOptions,
        ),
    },
    default_backend="inflate",
    options=Image3dOptions,
    required_inputs=("image",),
    gate="services.image3d.gates:check_mesh_output",
    gate_aliases=("mesh",),
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=0, max_tasks=8, backlog_per_task=2),
    done_message="mesh ready",
)
