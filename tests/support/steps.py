"""Steps driven as the worker drives them: options parsed by the declaration, the shared step function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from assetcore.steps.runner import prepare_request, run_step
from assetcore.worker.backend import InputFile, Progress, StepBackend, StepOutput, StepRequest


def no_progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
    """A progress callback that never cancels."""


def step_request(
    step: str,
    job: job_pb2.JobInput,
    params: Mapping[str, Any] | None = None,
    seed: int = 1,
    inputs: Mapping[str, InputFile] | None = None,
    backend: str | None = None,
) -> StepRequest:
    definition = load_catalog().step(step)
    return prepare_request(
        definition,
        backend or definition.default_backend,
        job=job,
        params=params or {},
        seed=seed,
        inputs=inputs or {},
    )


def run_step_function(
    backend: StepBackend, request: StepRequest, progress: Progress = no_progress
) -> StepOutput:
    """The request's step function around `backend`: input checks, the run, the quality gate."""
    return run_step(load_catalog().step(request.step), backend, request, progress)


def backend_of(step: str, name: str | None = None) -> StepBackend:
    definition = load_catalog().step(step)
    return definition.backend(name or definition.default_backend).create()
