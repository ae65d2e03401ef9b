"""The tti step: prompt -> concept image ("image": RGBA PNG, subject centred, alpha = its matte)."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.tti.options import TtiOptions

STEP = StepDefinition(
    name="tti",
    description="Prompt to concept image (RGBA PNG, the subject's matte in alpha)",
    consumes=(),
    produces=("image",),
    backends={"procedural": BackendSpec("services.tti.backends.procedural:ProceduralBackend", pool="cpu")},
    default_backend="procedural",
    options=TtiOptions,
    gate="services.tti.gates:check_concept_output",
    interactive=True,
    gate_aliases=("image", "concept"),
    library_files={"image": "_concept.png"},
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=1, max_tasks=8, backlog_per_task=4),
    done_message="concept image ready",
)
