"""The step function every step shares: inputs checked, the backend run, its output gated.

Options are parsed before this runs (the executor builds the StepRequest with them), so a
backend never sees an unparsed option; noop goes through here like any backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import OptionsInvalid, parse_options
from assetcore.steps.contract import StepDefinition, resolve
from assetcore.worker.backend import (
    ErrorCode,
    InputFile,
    Progress,
    StepBackend,
    StepError,
    StepOutput,
    StepRequest,
)


def prepare_request(
    definition: StepDefinition,
    backend: str,
    *,
    job: job_pb2.JobInput,
    params: Mapping[str, Any],
    seed: int,
    inputs: Mapping[str, InputFile],
) -> StepRequest:
    """The request a backend gets: options parsed once with the step's (and backend's) model.

    The orchestrator checked them at CreateJob, so INVALID_PARAMS here means the worker and
    the orchestrator disagree (different versions of a step)."""
    try:
        options = parse_options(definition, backend, job, params)
    except OptionsInvalid as exc:
        problem = exc.problems[0]
        raise StepError(ErrorCode.INVALID_PARAMS, f"{problem.field}: {problem.message}") from None
    return StepRequest(
        step=definition.name,
        job=job,
        params=params,
        seed=seed,
        inputs=inputs,
        options=options,
        produces=definition.produces,
    )


def run_step(
    definition: StepDefinition, backend: StepBackend, request: StepRequest, progress: Progress
) -> StepOutput:
    for name in definition.required_inputs:
        if name not in request.inputs:
            raise StepError(ErrorCode.INVALID_INPUT, f"{definition.name}: the input {name!r} is missing")
    if definition.precheck is not None:
        resolve(definition.precheck)(request)
    output = backend.run(request, progress)
    names = [f.name for f in output.files]
    undeclared = sorted(set(names) - set(definition.produces))
    if undeclared:
        raise StepError(
            ErrorCode.INTERNAL,
            f"{definition.name}: the backend returned undeclared output(s) {undeclared} "
            f"(the step produces {list(definition.produces)})",
        )
    if len(set(names)) != len(names):
        raise StepError(
            ErrorCode.INTERNAL, f"{definition.name}: the backend returned duplicate outputs {names}"
        )
    if definition.gate is not None:
        resolve(definition.gate)(output, request)
    progress(1.0, definition.done_message)
    return output
