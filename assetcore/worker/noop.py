"""The `noop` backend, every step's: used by runtime tests, benchmarks and control-plane probes.

It goes through the step function like any backend (inputs checked, options parsed, output
gated). For each artifact the step declares it outputs the input of that name when there is
one (pass-through) and otherwise a stand-in: one small text per seed and prompt, the same for
every artifact of a job, so that the content-addressed store writes it once. A step whose
quality gate reads real content (a concept image, a mesh) refuses it: noop runs the control
plane, not the pipeline's content.

Its options (JobInput.step_options[step], besides the step's own) steer it:
  sleep_s      seconds to spend, in `ticks` progress reports (default 0)
  ticks        progress reports (default 2)
  fail_code    fail every attempt with this code ...
  fail_message ... and message
  fail_retryable  whether the failure may be retried (default true)
"""

from __future__ import annotations

import time

from pydantic import Field

from assetcore.steps.options import Flag, Integer, Number, StepOptions, Text
from assetcore.worker.backend import BackendInfo, OutputFile, Progress, StepError, StepOutput, StepRequest


class NoopOptions(StepOptions):
    sleep_s: Number = Field(0.0, ge=0.0, le=600.0)
    ticks: Integer = Field(2, ge=1, le=1000)
    fail_code: Text | None = Field(None, min_length=1, max_length=60)
    fail_message: Text = Field("noop failure", max_length=2000)
    fail_retryable: Flag = True


class NoopBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("noop", "2", ("passthrough",))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        options = request.options_as(NoopOptions)
        for tick in range(1, options.ticks + 1):
            if options.sleep_s:
                time.sleep(options.sleep_s / options.ticks)
            progress(tick / options.ticks, f"noop {tick}/{options.ticks}")
        if options.fail_code is not None:
            raise StepError(options.fail_code, options.fail_message, retryable=options.fail_retryable)
        stand_in = f"noop:{request.seed}:{request.job.prompt.concept}".encode()
        files = []
        for name in request.produces:
            given = request.inputs.get(name)
            if given is not None:
                files.append(OutputFile(name, given.media_type, given.data))
            else:
                files.append(OutputFile(name, "text/plain", stand_in))
        return StepOutput(files=files, notes=["noop backend: declared outputs passed through or stood in"])
