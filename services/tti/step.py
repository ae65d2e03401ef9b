"""The tti step: prompt -> concept image ("image": RGBA PNG, subject centred, alpha = its matte),
and from the procedural backend the subject's six views ("views", "materials")."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, ModelUse, Resources, StepDefinition
from services.tti.options import TtiOptions
from services.tti.procedural_options import ProceduralOptions
from services.tti.sdxl_options import MAX_CANDIDATES, SdxlOptions

SDXL = BackendSpec(
    "services.tti.backends.sdxl:SdxlBackend",
    pool="gpu",
    options=SdxlOptions,
    models=(
        ModelUse("sdxl-base", tiny="assetcore.ml.tiny_sdxl:build_base"),
        ModelUse("sdxl-refiner", tiny="assetcore.ml.tiny_sdxl:build_refiner", optional=True),
        ModelUse("matte", tiny="assetcore.ml.matting:build_tiny_matte", optional=True),
    ),
)

STEP = StepDefinition(
    name="tti",
    description="Prompt to concept image (RGBA PNG, the subject's matte in alpha)",
    consumes=(),
    # "image" is the chosen concept; the sdxl backend also keeps every candidate it drew. The
    # procedural backend also draws the subject from six orthographic cameras: "views" (albedo) and
    # "materials" (metallic-roughness), both in assetcore/multiview.py's "orthographic-6" layout.
    produces=("image", "views", "materials", *(f"candidate_{k}" for k in range(1, MAX_CANDIDATES + 1))),
    candidates_for="image",  # a reviewer may keep another candidate (ReviewStep's choice)
    backends={
        "procedural": BackendSpec(
            "services.tti.backends.procedural:ProceduralBackend", pool="cpu", options=ProceduralOptions
        ),
        "sdxl": SDXL,
    },
    default_backend="procedural",
    options=TtiOptions,
    gate="services.tti.gates:check_concept_output",
    interactive=True,
    gate_aliases=("image", "concept"),
    library_files={"image": "_concept.png"},
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=1, max_tasks=8, backlog_per_task=4),
    done_message="concept image ready",
)
