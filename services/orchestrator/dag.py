"""Pure rules of the job DAG: step tasks, attempt liveness, retry delays, reseeding."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

from assetcore.config import RetryPolicy
from assetcore.proto.v1 import job_pb2, step_pb2
from services.orchestrator import convert
from services.orchestrator.jobtx import timestamp
from services.orchestrator.pipelines import Pipeline
from services.orchestrator.states import JOB_TERMINAL, RUNNING

Dict = dict[str, Any]
SUPERSEDED = "superseded"


def step_task(
    job: Dict,
    step: Dict,
    job_input: job_pb2.JobInput,
    pipeline: Pipeline,
    by_name: dict[str, Dict],
    art_rows: Sequence[Dict],
    now: float,
) -> step_pb2.StepTask:
    """The queue message: the step, the job input, the outputs of its ancestors (nearest wins)
    and the job's attachments."""
    inputs: dict[str, job_pb2.Artifact] = {}
    for ancestor in pipeline.ancestors(step["name"]):
        parent = by_name[ancestor]
        for art in art_rows:
            if art["step_id"] == parent["id"] and art["generation"] == parent["generation"]:
                inputs.setdefault(art["name"], convert.artifact(art))
    for attachment in json.loads(job["attachments"] or "[]"):  # files given with the input come last
        inputs.setdefault(attachment["name"], convert.artifact(attachment))
    task = step_pb2.StepTask(
        job_id=job["id"],
        step_id=step["id"],
        step_name=step["name"],
        generation=step["generation"],
        tenant_id=job["tenant_id"],
        project_id=job["project_id"],
        job_input=job_input,
        seed=step["seed"],
        inputs=list(inputs.values()),
        priority=job["priority"],
        enqueued_at=timestamp(now),
    )
    if step["name"] in job_input.step_options:
        task.params.CopyFrom(job_input.step_options[step["name"]])
    return task


def attempt_is_live(job_state: str, step: Dict, attempt: Dict) -> bool:
    return (
        job_state not in JOB_TERMINAL
        and step["state"] == RUNNING
        and attempt["state"] == RUNNING
        and attempt["generation"] == step["generation"]
    )


def attempt_may_complete(job_state: str, step: Dict, attempt: Dict) -> bool:
    """A superseded attempt of the current generation may still deliver: results are deterministic."""
    return (
        job_state not in JOB_TERMINAL
        and step["state"] == RUNNING
        and attempt["state"] in (RUNNING, SUPERSEDED)
        and attempt["generation"] == step["generation"]
    )


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def reseed(seed: int, generation: int) -> int:
    """A new seed for a rejected step: deterministic in the old seed and the generation."""
    return (seed * 1_103_515_245 + 12_345 + generation * 2_654_435_761) % (2**31 - 1)
