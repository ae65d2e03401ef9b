"""The orchestrator's SQL: statements built once (with bind parameters) and typed reads.

Building a SQLAlchemy statement costs far more than running a cached one, so the statements
of the hot path are module constants. Reads return the typed rows of rows.py. Job rows are
locked when loaded for a change (FOR UPDATE on PostgreSQL; SQLite's write transaction
already excludes other writers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update

from assetcore.db.schema import artifacts, job_events, job_transitions, jobs, outbox, step_attempts, steps
from services.orchestrator.rows import (
    ArtifactRow,
    AttemptRow,
    JobRow,
    StepRow,
    TransitionRow,
    columns,
)
from services.orchestrator.states import ACTIVE_JOB_STATES, RUNNING, SUPERSEDED

JOB_COLUMNS = columns(JobRow, jobs)
STEP_COLUMNS = columns(StepRow, steps)
ATTEMPT_COLUMNS = columns(AttemptRow, step_attempts)
ARTIFACT_COLUMNS = columns(ArtifactRow, artifacts)
_NJ, _NS = len(JOB_COLUMNS), len(STEP_COLUMNS)


def _labelled(prefix: str, cols: tuple[Any, ...]) -> list[Any]:
    return [c.label(f"{prefix}_{c.name}") for c in cols]


# -- jobs, locked for a change ------------------------------------------------------------------
JOB = select(*JOB_COLUMNS).where(jobs.c.id == bindparam("job_id"))
JOB_FOR_UPDATE = JOB.with_for_update()
TENANT_JOB_FOR_UPDATE = JOB_FOR_UPDATE.where(jobs.c.tenant_id == bindparam("tenant_id"))
JOB_AND_STEP_FOR_UPDATE = (
    select(*_labelled("j", JOB_COLUMNS), *_labelled("s", STEP_COLUMNS))
    .join(jobs, jobs.c.id == steps.c.job_id)
    .where(steps.c.id == bindparam("step_id"))
    .with_for_update(of=jobs)
)
JOB_STEP_AND_ATTEMPT_FOR_UPDATE = (
    select(*_labelled("j", JOB_COLUMNS), *_labelled("s", STEP_COLUMNS), *_labelled("a", ATTEMPT_COLUMNS))
    .select_from(step_attempts)
    .join(steps, steps.c.id == step_attempts.c.step_id)
    .join(jobs, jobs.c.id == steps.c.job_id)
    .where(step_attempts.c.id == bindparam("attempt_id"))
    .with_for_update(of=jobs)
)

# -- writes of a JobTx ----------------------------------------------------------------------------
INSERT_JOB = insert(jobs)
INSERT_STEPS = insert(steps)
UPDATE_JOB = update(jobs).where(jobs.c.id == bindparam("b_id"))  # SET: the keys of the parameters
UPDATE_STEP = update(steps).where(steps.c.id == bindparam("b_id"))
INSERT_EVENTS = insert(job_events)
INSERT_OUTBOX = insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)
INSERT_OUTBOX_ROW = insert(outbox).returning(outbox.c.id)
INSERT_TRANSITIONS = insert(job_transitions)

# -- attempts and results -----------------------------------------------------------------------
INSERT_ATTEMPT = insert(step_attempts)
UPDATE_ATTEMPT = update(step_attempts).where(step_attempts.c.id == bindparam("b_id"))  # SET: the parameters
SUPERSEDE_ATTEMPTS = (
    update(step_attempts)
    .where(step_attempts.c.step_id == bindparam("b_step"), step_attempts.c.state == RUNNING)
    .values(state=SUPERSEDED, finished_at=bindparam("b_now"))
)
INSERT_ARTIFACTS = insert(artifacts)
# A reviewer's choice: the chosen output takes the candidate's file (ReviewStep's choice).
REPOINT_ARTIFACT = (
    update(artifacts)
    .where(
        artifacts.c.step_id == bindparam("b_step"),
        artifacts.c.generation == bindparam("b_generation"),
        artifacts.c.name == bindparam("b_name"),
    )
    .values(
        media_type=bindparam("b_media_type"),
        sha256=bindparam("b_sha256"),
        size_bytes=bindparam("b_size_bytes"),
        blob_key=bindparam("b_blob_key"),
        preview_key=bindparam("b_preview_key"),
    )
)

# -- reads ----------------------------------------------------------------------------------------
STEPS_OF = (
    select(*STEP_COLUMNS)
    .where(steps.c.job_id.in_(bindparam("job_ids", expanding=True)))
    .order_by(steps.c.job_id, steps.c.ordinal)
)
ARTIFACTS_OF = (
    select(*ARTIFACT_COLUMNS)
    .where(artifacts.c.job_id.in_(bindparam("job_ids", expanding=True)))
    .order_by(artifacts.c.id)
)
TRANSITIONS_OF = (
    select(*columns(TransitionRow, job_transitions))
    .where(job_transitions.c.job_id == bindparam("job_id"))
    .order_by(job_transitions.c.id)
)
JOB_BY_IDEMPOTENCY_KEY = select(jobs.c.id).where(
    jobs.c.tenant_id == bindparam("tenant_id"),
    jobs.c.project_id == bindparam("project_id"),
    jobs.c.idempotency_key == bindparam("key"),
)
ACTIVE_JOBS = select(func.count()).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.state.in_(sorted(ACTIVE_JOB_STATES))
)
JOBS_SINCE = select(func.count()).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.created_at >= bindparam("since")
)
OWNED_JOBS = select(*JOB_COLUMNS).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.project_id == bindparam("project_id")
)
OWNED_JOB = OWNED_JOBS.where(jobs.c.id == bindparam("job_id"))
EVENTS_AFTER = (
    select(job_events.c.seq, job_events.c.payload)
    .where(job_events.c.job_id == bindparam("job_id"), job_events.c.seq > bindparam("after"))
    .order_by(job_events.c.seq)
    .limit(500)
)
JOB_STATE = select(jobs.c.state).where(jobs.c.id == bindparam("job_id"))
JOB_BY_ID = select(*JOB_COLUMNS).where(jobs.c.id == bindparam("job_id"))


def job_from(row: Any) -> JobRow:
    return JobRow(*row)


def job_and_step(row: Any) -> tuple[JobRow, StepRow]:
    return JobRow(*row[:_NJ]), StepRow(*row[_NJ : _NJ + _NS])


def job_step_and_attempt(row: Any) -> tuple[JobRow, StepRow, AttemptRow]:
    return JobRow(*row[:_NJ]), StepRow(*row[_NJ : _NJ + _NS]), AttemptRow(*row[_NJ + _NS :])


def owned_jobs(tenant_id: str, project_id: str) -> Select[Any]:
    """The jobs of a tenant's project (list filters are added to it)."""
    return select(*JOB_COLUMNS).where(jobs.c.tenant_id == tenant_id, jobs.c.project_id == project_id)


def owned_job(conn: Connection, tenant_id: str, project_id: str, job_id: str) -> JobRow | None:
    row = conn.execute(
        OWNED_JOB, {"tenant_id": tenant_id, "project_id": project_id, "job_id": job_id}
    ).first()
    return None if row is None else JobRow(*row)


def job(conn: Connection, job_id: str) -> JobRow:
    """A job known to exist (no lock)."""
    return JobRow(*conn.execute(JOB_BY_ID, {"job_id": job_id}).one())


def steps_of(conn: Connection, job_ids: list[str]) -> list[StepRow]:
    """The steps of the jobs, by job and ordinal."""
    return [StepRow(*r) for r in conn.execute(STEPS_OF, {"job_ids": job_ids})] if job_ids else []


def artifacts_of(conn: Connection, job_ids: list[str]) -> list[ArtifactRow]:
    return [ArtifactRow(*r) for r in conn.execute(ARTIFACTS_OF, {"job_ids": job_ids})] if job_ids else []


def transitions_of(conn: Connection, job_id: str) -> list[TransitionRow]:
    return [TransitionRow(*r) for r in conn.execute(TRANSITIONS_OF, {"job_id": job_id})]


def job_by_idempotency_key(conn: Connection, tenant_id: str, project_id: str, key: str) -> str | None:
    """The job a project created with this idempotency key (keys are scoped per tenant and project)."""
    params = {"tenant_id": tenant_id, "project_id": project_id, "key": key}
    found = conn.execute(JOB_BY_IDEMPOTENCY_KEY, params).scalar()
    return None if found is None else str(found)


def active_jobs(conn: Connection, tenant_id: str) -> int:
    return int(conn.execute(ACTIVE_JOBS, {"tenant_id": tenant_id}).scalar_one())


def jobs_since(conn: Connection, tenant_id: str, since: float) -> int:
    return int(conn.execute(JOBS_SINCE, {"tenant_id": tenant_id, "since": since}).scalar_one())


def events_after(conn: Connection, job_id: str, after: int) -> tuple[list[tuple[int, bytes]], str | None]:
    """Up to 500 events of the job after sequence `after`, and the job's state."""
    rows = [
        (int(r.seq), bytes(r.payload)) for r in conn.execute(EVENTS_AFTER, {"job_id": job_id, "after": after})
    ]
    state = conn.execute(JOB_STATE, {"job_id": job_id}).scalar()
    return rows, None if state is None else str(state)
