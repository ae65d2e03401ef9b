"""The text a tti backend draws from: the job's concept and details, in that order."""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2


def prompt_text(job: job_pb2.JobInput) -> str:
    parts = (job.prompt.concept.strip(), job.prompt.details.strip())
    return " ".join(part for part in parts if part)
