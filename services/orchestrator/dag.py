"""Pure rules of the job DAG: which steps are ready, step tasks, attempt liveness, retry
delays, reseeding. No database and no I/O: advance.py applies them in a transaction."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import cast

from assetcore.config import RetryPolicy
from assetcore.ids import new_id
from assetcore.proto.v1 import job_pb2, step_pb2
from assetcore.steps.pipeline import Pipeline, StepSpec
from assetcore.telemetry import tracing
from services.orchestrator import convert
from services.orchestrator.rows import ArtifactRow, AttemptRow, JobRow, StepRow, current
from services.orchestrator.states import (
    AWAITING_REVIEW,
    JOB_TERMINAL,
    PENDING,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    SUPERSEDED,
)


def job_dag(job: JobRow, job_input: job_pb2.JobInput, step_rows: Sequence[StepRow]) -> Pipeline:
    """The job's own DAG, as its steps were written at CreateJob: a running job keeps its shape
    whatever later happens to the pipeline template it came from."""
    ordered = sorted(step_rows, key=lambda s: s.ordinal)
    specs = tuple(StepSpec(s.name, tuple(s.parents)) for s in ordered)
    return Pipeline(job.pipeline, "", job_input.asset_type, specs)


def new_step(
    job: JobRow, name: str, ordinal: int, depends_on: Sequence[str], seed: int, max_attempts: int, gated: bool
) -> StepRow:
    """A step of a new job, pending."""
    return StepRow(
        id=new_id("stp"),
        job_id=job.id,
        tenant_id=job.tenant_id,
        name=name,
        ordinal=ordinal,
        state=PENDING,
        depends_on=json.dumps(list(depends_on)),
        generation=0,
        attempt=0,
        max_attempts=max_attempts,
        seed=seed,
        pool=None,
        review_gate=gated,
        review_notes=None,
        backend=None,
        backend_version=None,
        queued_at=None,
        started_at=None,
        finished_at=None,
        duration_s=None,
        cost_usd=0.0,
        progress=0.0,
        progress_message=None,
        progress_at=None,
        cancel_requested=False,
        cache_hit=False,
        notes=None,
        preview_key=None,
        preview_sha256=None,
        preview_size_bytes=None,
        error_code=None,
        error_message=None,
    )


def ready(step_rows: Sequence[StepRow]) -> list[StepRow]:
    """The pending steps whose parents all succeeded, in order."""
    state = {s.name: s.state for s in step_rows}
    return [s for s in step_rows if s.state == PENDING and all(state[p] == SUCCEEDED for p in s.parents)]


def all_succeeded(step_rows: Sequence[StepRow]) -> bool:
    return all(s.state == SUCCEEDED for s in step_rows)


def state_after_review(job_state: str, step_rows: Sequence[StepRow]) -> str | None:
    """The job's new state once no step awaits review any more (None: unchanged)."""
    if job_state != AWAITING_REVIEW or any(s.state == AWAITING_REVIEW for s in step_rows):
        return None
    return RUNNING if any(s.state == RUNNING for s in step_rows) else QUEUED


def step_task(
    job: JobRow,
    step: StepRow,
    job_input: job_pb2.JobInput,
    pipeline: Pipeline,
    by_name: Mapping[str, StepRow],
    art_rows: Sequence[ArtifactRow],
    now: float,
) -> step_pb2.StepTask:
    """The queue message: the step, the job input, the outputs of its ancestors (nearest wins)
    and the job's attachments."""
    inputs: dict[str, job_pb2.Artifact] = {}
    for ancestor in pipeline.ancestors(step.name):
        for art in current(art_rows, by_name[ancestor]):
            inputs.setdefault(art.name, convert.artifact(art))
    for attachment in job.attachment_list():  # files given with the input come last
        inputs.setdefault(attachment.name, convert.artifact(attachment))
    task = step_pb2.StepTask(
        job_id=job.id,
        step_id=step.id,
        step_name=step.name,
        generation=step.generation,
        tenant_id=job.tenant_id,
        project_id=job.project_id,
        job_input=job_input,
        seed=step.seed,
        inputs=list(inputs.values()),
        priority=cast("job_pb2.Priority", job.priority),
        enqueued_at=convert.timestamp(now),
    )
    if step.name in job_input.step_options:
        task.params.CopyFrom(job_input.step_options[step.name])
    tracing.set_task_trace(task, job.trace_parent)
    return task


def attempt_is_live(job_state: str, step: StepRow, attempt: AttemptRow) -> bool:
    """The attempt may report progress, fail or be abandoned."""
    return (
        job_state not in JOB_TERMINAL
        and step.state == RUNNING
        and attempt.state == RUNNING
        and attempt.generation == step.generation
    )


def attempt_may_complete(job_state: str, step: StepRow, attempt: AttemptRow) -> bool:
    """A superseded attempt of the current generation may still deliver: results are deterministic."""
    return (
        job_state not in JOB_TERMINAL
        and step.state == RUNNING
        and attempt.state in (RUNNING, SUPERSEDED)
        and attempt.generation == step.generation
    )


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random."""
    ceiling = float(min(policy.max_delay_s, policy.base_delay_s * 2 ** max(0, attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def reseed(seed: int, generation: int) -> int:
    """A new seed for a rejected step: deterministic in the old seed and the generation."""
    return (seed * 1_103_515_245 + 12_345 + generation * 2_654_435_761) % (2**31 - 1)
