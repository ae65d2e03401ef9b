"""The refine step: concept image -> clean, centred RGBA "image" (binary matte, 1 px edge); x2 on request."""

from __future__ import annotations

from assetcore.concept_image import output_matte
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.refine.image_io import MAX_SIDE, image_size
from services.refine.options import RefineOptions


def _output_side(request: StepRequest) -> int:
    side = max(image_size(request.inputs["image"].data))
    return 2 * side if request.job.upscale else side


def check_upscale(request: StepRequest) -> None:
    side = _output_side(request)
    if side > MAX_SIDE:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"upscale: a {side // 2} px image doubled exceeds {MAX_SIDE} px"
        )


def check_refined_output(output: StepOutput, request: StepRequest) -> None:
    """Quality gate: a side x side RGBA PNG with a subject."""
    if not output_matte(output, _output_side(request), "refine").any():
        raise StepError(ErrorCode.INTERNAL, "refine: the refined matte is empty")


STEP = StepDefinition(
    name="refine",
    description="Matte cleanup, framing and optional x2 upscale of the concept image",
    consumes=("image",),
    produces=("image",),
    backends={"cpu": BackendSpec("services.refine.backends.cpu:CpuBackend", pool="cpu")},
    default_backend="cpu",
    options=RefineOptions,
    required_inputs=("image",),
    precheck=check_upscale,
    gate=check_refined_output,
    interactive=True,
    reads=("upscale",),
    resources=Resources(cpu=2048, memory_mib=4096, min_tasks=1, max_tasks=10, backlog_per_task=8),
    done_message="refined image ready",
)
