"""The tti step: prompt -> concept image ("image": RGBA PNG, subject centred, alpha = its matte)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from assetcore.concept_image import METADATA_KEY, read_concept_metadata
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
    image_file = next((f for f in output.files if f.name == "image"), None)
    if image_file is None:
        raise StepError(ErrorCode.INTERNAL, "tti: the backend returned no 'image' output")
    try:
        with Image.open(io.BytesIO(image_file.data)) as image:
            mode, shape = image.mode, image.size
            alpha = np.asarray(image.getchannel("A")) if mode == "RGBA" else None
    except (UnidentifiedImageError, OSError) as exc:
        raise StepError(ErrorCode.INTERNAL, f"tti: the backend's image is not a PNG ({exc})") from None
    if alpha is None or shape != (size, size):
        raise StepError(ErrorCode.INTERNAL, f"tti: expected a {size}x{size} RGBA image, got {shape} {mode}")
    if not alpha.any() or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
        raise StepError(ErrorCode.INTERNAL, "tti: the subject's matte is empty or touches the image border")
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
