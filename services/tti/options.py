"""The tti step's options (JobInput.step_options["tti"])."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import Field

from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import Integer, OptionError, StepOptions
from services.tti.prompt_text import prompt_text


class TtiOptions(StepOptions):
    size: Integer = Field(1024, ge=256, le=2048, description="The square image's side in pixels.")

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        if not prompt_text(job):
            raise OptionError("input.prompt.concept", "empty; tti draws from the prompt")
        return super().resolve(job, params)
