"""The `noop` backend: passes its inputs through. Used only by runtime tests and benchmarks.

Its behaviour comes from the step's options (JobInput.step_options[step]):
  sleep_s      seconds to spend, in `ticks` progress reports (default 0)
  ticks        progress reports (default 2)
  fail_code    fail every attempt with this code ...
  fail_message ... and message
  fail_retryable  whether the failure may be retried (default true)
A step with no inputs outputs one small artifact derived from the prompt and seed.
"""

from __future__ import annotations

import time

from assetcore.worker.backend import (
    BackendInfo,
    ErrorCode,
    OutputFile,
    Progress,
    StepError,
    StepOutput,
    StepRequest,
)

OPTIONS = {"sleep_s", "ticks", "fail_code", "fail_message", "fail_retryable"}


class NoopBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("noop", "1", ("passthrough",))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        unknown = set(request.params) - OPTIONS
        if unknown:
            raise StepError(ErrorCode.INVALID_PARAMS, f"unknown noop options: {', '.join(sorted(unknown))}")
        ticks = max(1, int(request.params.get("ticks", 2)))
        sleep_s = float(request.params.get("sleep_s", 0.0))
        for tick in range(1, ticks + 1):
            if sleep_s:
                time.sleep(sleep_s / ticks)
            progress(tick / ticks, f"noop {tick}/{ticks}")
        if "fail_code" in request.params:
            raise StepError(
                str(request.params["fail_code"]),
                str(request.params.get("fail_message", "noop failure")),
                retryable=bool(request.params.get("fail_retryable", True)),
            )
        if request.inputs:
            files = [OutputFile(f.name, f.media_type, f.data) for f in request.inputs.values()]
        else:
            text = f"{request.step}:{request.seed}:{request.job.prompt.concept}"
            files = [OutputFile("noop", "text/plain", text.encode())]
        return StepOutput(files=files, notes=["noop backend: inputs passed through"])
