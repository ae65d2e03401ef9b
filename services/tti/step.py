"""The tti step: prompt -> concept image ("image": RGBA PNG, subject centred, alpha = its matte)."""

from __future__ import annotations

from assetcore.concept_image import METADATA_KEY, output_matte, read_concept_metadata
from assetcore.worker.backend import (
    ErrorCode,
    Progress,
    StepBackend,
    StepDefinition,
    StepError,
    StepOutput,
    StepRequest,
)
from services.tti.backends.procedural import ProceduralBackend
from services.tti.options import parse_options
from services.tti.prompt_text import prompt_text


def run_tti(backend: StepBackend, request: StepRequest, progress: Progress) -> StepOutput:
    text = prompt_text(request.job)
    if not text:
        raise StepError(ErrorCode.INVALID_PARAMS, "prompt.concept: empty; tti draws from the prompt")
    options = parse_options(request.params)
    output = backend.run(request, progress)
    check_concept_output(output, options.size)
    progress(1.0, "concept image ready")
    return output


def check_concept_output(output: StepOutput, size: int) -> None:
    """Quality gate: a size x size RGBA PNG whose matte holds a subject clear of the borders."""
    alpha = output_matte(output, size, "tti")
    if not alpha.any() or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
        raise StepError(ErrorCode.INTERNAL, "tti: the subject's matte is empty or touches the image border")
    image_file = next(f for f in output.files if f.name == "image")
    if "view" not in read_concept_metadata(image_file.data):
        raise StepError(ErrorCode.INTERNAL, f"tti: the image lacks its '{METADATA_KEY}' view metadata")


STEP = StepDefinition(
    name="tti",
    consumes=(),
    backends={"procedural": ProceduralBackend},
    default_backend="procedural",
    run=run_tti,
    interactive=True,
    pool="gpu",
)
