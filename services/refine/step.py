"""The refine step: concept image -> clean, centred RGBA "image" (binary matte, 1 px edge); x2 on request."""

from __future__ import annotations

from assetcore.concept_image import output_matte
from assetcore.worker.backend import (
    ErrorCode,
    Progress,
    StepBackend,
    StepDefinition,
    StepError,
    StepOutput,
    StepRequest,
)
from services.refine.backends.cpu import CpuBackend
from services.refine.image_io import MAX_SIDE, image_size
from services.refine.options import parse_options


def run_refine(backend: StepBackend, request: StepRequest, progress: Progress) -> StepOutput:
    if "image" not in request.inputs:
        raise StepError(ErrorCode.INVALID_INPUT, "refine: the input 'image' is missing")
    parse_options(request.params)
    side = max(image_size(request.inputs["image"].data))
    expected = 2 * side if request.job.upscale else side
    if expected > MAX_SIDE:
        raise StepError(ErrorCode.INVALID_PARAMS, f"upscale: a {side} px image doubled exceeds {MAX_SIDE} px")
    output = backend.run(request, progress)
    check_refined_output(output, expected)
    progress(1.0, "refined image ready")
    return output


def check_refined_output(output: StepOutput, side: int) -> None:
    """Quality gate: a side x side RGBA PNG with a subject."""
    if not output_matte(output, side, "refine").any():
        raise StepError(ErrorCode.INTERNAL, "refine: the refined matte is empty")


STEP = StepDefinition(
    name="refine",
    consumes=("image",),
    backends={"cpu": CpuBackend},
    default_backend="cpu",
    run=run_refine,
    interactive=True,
    pool="gpu",
)
