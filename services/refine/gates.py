"""The refine step's checks: before the backend (the size an upscale would reach) and after it."""

from __future__ import annotations

from assetcore.concept_image import output_matte
from assetcore.config import get_settings
from assetcore.imaging.image_io import MAX_SIDE, image_size
from assetcore.safety.image_check import check_images
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest


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
    """Quality gate: a side x side RGBA PNG with a subject; then the image check
    (assetcore/safety/image_check.py)."""
    if not output_matte(output, _output_side(request), "refine").any():
        raise StepError(ErrorCode.INTERNAL, "refine: the refined matte is empty")
    check_images(output, "refine", get_settings().safety)
