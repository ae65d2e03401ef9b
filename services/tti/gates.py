"""The tti step's quality gate (runs where the step runs; services/tti/step.py names it)."""

from __future__ import annotations

from assetcore.concept_image import METADATA_KEY, output_matte, read_concept_metadata
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
