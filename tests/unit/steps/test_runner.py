"""The shared step function: options parsed once, inputs checked, outputs declared and gated."""

from __future__ import annotations

import pytest

from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from assetcore.steps.runner import prepare_request, run_step
from assetcore.worker.backend import (
    BackendInfo,
    ErrorCode,
    InputFile,
    OutputFile,
    StepError,
    StepOutput,
    StepRequest,
)
from assetcore.worker.noop import NoopBackend, NoopOptions
from tests.support.steps import no_progress

CATALOG = load_catalog(("assetcore.steps.probe",))
JOB = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))


class Fixed:
    def __init__(self, *files: OutputFile) -> None:
        self.files = list(files)

    def describe(self) -> BackendInfo:
        return BackendInfo("fixed", "1")

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: object) -> StepOutput:
        return StepOutput(files=self.files)


def _request(step: str, params: dict[str, object] | None = None, **inputs: bytes) -> StepRequest:
    files = {name: InputFile(name, "text/plain", data, "") for name, data in inputs.items()}
    return prepare_request(CATALOG.step(step), "noop", job=JOB, params=params or {}, seed=3, inputs=files)


def test_options_reach_the_backend_typed() -> None:
    request = _request("sketch", {"ticks": 3.0, "sleep_s": 0})
    assert isinstance(request.options, NoopOptions) and request.options.ticks == 3
    with pytest.raises(StepError) as caught:
        _request("sketch", {"ticks": 0})
    assert caught.value.code == ErrorCode.INVALID_PARAMS
    assert caught.value.message.startswith("input.step_options.sketch.ticks:")


def test_noop_outputs_what_the_step_declares_and_passes_inputs_through() -> None:
    output = run_step(CATALOG.step("topo"), NoopBackend(), _request("topo", mesh=b"m"), no_progress)
    files = {f.name: f.data for f in output.files}
    assert set(files) == {"mesh", "lod1", "lod2"}
    assert files["mesh"] == b"m" and files["lod1"] == files["lod2"] == b"noop:3:a knight"


def test_missing_required_input_is_invalid_input() -> None:
    with pytest.raises(StepError) as caught:
        run_step(CATALOG.step("touchup"), NoopBackend(), _request("touchup"), no_progress)
    assert caught.value.code == ErrorCode.INVALID_INPUT and "'image'" in caught.value.message


def test_undeclared_or_duplicate_outputs_are_a_backend_bug() -> None:
    sketch = CATALOG.step("sketch")
    stray = Fixed(OutputFile("image", "image/png", b"i"), OutputFile("mesh", "model/gltf-binary", b"m"))
    with pytest.raises(StepError, match=r"undeclared output\(s\) \['mesh'\]") as caught:
        run_step(sketch, stray, _request("sketch"), no_progress)
    assert caught.value.code == ErrorCode.INTERNAL
    twice = Fixed(OutputFile("image", "image/png", b"i"), OutputFile("image", "image/png", b"j"))
    with pytest.raises(StepError, match="duplicate outputs"):
        run_step(sketch, twice, _request("sketch"), no_progress)


def test_the_gate_runs_for_every_backend_noop_included() -> None:
    with pytest.raises(StepError, match="'image' is missing or empty"):
        run_step(
            CATALOG.step("sketch"),
            Fixed(OutputFile("image", "image/png", b"")),
            _request("sketch"),
            no_progress,
        )
    real = load_catalog().step("tti")
    request = prepare_request(real, "noop", job=JOB, params={}, seed=1, inputs={})
    with pytest.raises(StepError) as caught:  # a text stand-in is no concept image
        run_step(real, NoopBackend(), request, no_progress)
    assert caught.value.code == ErrorCode.INTERNAL


def test_noop_failures_and_progress() -> None:
    seen: list[float] = []

    def progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        seen.append(fraction)

    request = _request("sketch", {"ticks": 4})
    run_step(CATALOG.step("sketch"), NoopBackend(), request, progress)
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0]
    failing = _request("sketch", {"fail_code": "E_X", "fail_retryable": False})
    with pytest.raises(StepError) as caught:
        run_step(CATALOG.step("sketch"), NoopBackend(), failing, no_progress)
    assert (caught.value.code, caught.value.retryable) == ("E_X", False)
