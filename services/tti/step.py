"""The tti step: prompt -> concept image ("image": RGBA PNG, subject centred, alpha = its matte)."""

from __future__ import annotations

from assetcore.concept_image import METADATA_KEY, output_matte, read_concept_metadata
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.tti.options import TtiOptions


def check_concept_output(output: StepOutput, request: StepRequest) -> None:
    """Quality gate: a size x size RGBA PNG whose matte holds a subject clear of the borders."""
    size = request.options_as(TtiOptions).size
    alpha = output_matte(output, size, "tti")
    if not alpha.any() or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
        raise StepError(ErrorCode.INTERNAL, "tti: the subject's matte is empty or touches the image border")
    image_file = next(f for f in output.files if f.name == "image")
    if "view" not in read_concept_metadata(image_file.data):
        raise StepError(ErrorCode.INTERNAL, f"tti: the image lacks its '{METADATA_KEY}' view metadata")


STEP = StepDefinition(
    name="tti",
    description="Prompt to concept image (RGBA PNG, the subject's matte in alpha)",
    consumes=(),
    produces=("image",),
    backends={"procedural": BackendSpec("services.tti.backends.procedural:ProceduralBackend", pool="cpu")},
    default_backend="procedural",
    options=TtiOptions,
    gate=check_concept_output,
    interactive=True,
    gate_aliases=("image", "concept"),
    library_files={"image": "_concept.png"},
    resources=Resources(cpu=2048, memory_mib=8192, min_tasks=1, max_tasks=8, backlog_per_task=4),
    done_message="concept image ready",
)
