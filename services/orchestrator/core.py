"""The orchestrator's job state machine, independent of gRPC.

Every operation on a job locks the job row and changes it, its steps, its event log and
the outbox in one transaction (see jobtx.py). Worker calls are idempotent: a duplicate
delivery, a redelivery after a crash or a late result from a superseded attempt never
changes a result already recorded.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assetcore.blobs.base import BlobStore
from assetcore.config import Settings
from assetcore.db.engine import reading
from assetcore.db.schema import artifacts, job_events, job_transitions, jobs, step_attempts, step_stats, steps
from assetcore.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from assetcore.events.notifier import JobNotifier, wait_for_event
from assetcore.ids import is_valid_id, new_id
from assetcore.proto.v1 import events_pb2, job_pb2, orchestrator_pb2, step_pb2
from services.orchestrator import convert, eta, library
from services.orchestrator.jobtx import JobTx, loads_list, timestamp
from services.orchestrator.pipelines import PIPELINES, Pipeline
from services.orchestrator.states import (
    AWAITING_REVIEW,
    CANCELLED,
    FAILED,
    JOB_STATE_NAME,
    JOB_TERMINAL,
    PENDING,
    QUEUED,
    RUNNING,
    STEP_DONE,
    SUCCEEDED,
)
from services.orchestrator.validation import check_safety, resolve_input

Dict = dict[str, Any]
WORKER_LOST = "WORKER_LOST"
MAX_PAGE = 100


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    project_id: str
    role: str
    key_id: str

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"


def _require_id(prefix: str, value: str, field: str) -> None:
    if not is_valid_id(prefix, value):
        raise InvalidArgument(f"malformed id {value!r}", field=field)


def _encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _decode_token(token: str, prefix: str) -> str:
    try:
        value = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not is_valid_id(prefix, value):
        raise InvalidArgument("malformed page token", field="page_token")
    return value


class Orchestrator:
    def __init__(
        self,
        engine: AsyncEngine,
        blobs: BlobStore,
        settings: Settings,
        notifier: JobNotifier,
        on_outbox: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.settings = settings
        self.notifier = notifier
        self._on_outbox = on_outbox

    # ------------------------------------------------------------------ transactions

    @asynccontextmanager
    async def _job_tx(self, job_id: str, tenant_id: str | None = None) -> AsyncIterator[JobTx]:
        async with self.engine.begin() as conn:
            tx = await JobTx.lock(conn, job_id, time.time(), tenant_id=tenant_id)
            if tx is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
            yield tx
            await tx.flush()
        self._committed(tx)

    def _committed(self, tx: JobTx) -> None:
        if tx.events:
            self.notifier.notify(tx.job["id"])
        if tx.enqueued or tx.events:
            self._on_outbox()

    # ------------------------------------------------------------------ client calls

    async def create_job(
        self, principal: Principal, request: orchestrator_pb2.CreateJobRequest
    ) -> orchestrator_pb2.CreateJobResponse:
        key = request.idempotency_key
        if len(key) > 200:
            raise InvalidArgument("longer than 200 characters", field="idempotency_key")
        if key:
            existing = await self._job_by_idempotency_key(principal, key)
            if existing is not None:
                return orchestrator_pb2.CreateJobResponse(job=await self.get_job(principal, existing), created=False)
        resolved, pipeline, gates = resolve_input(request.input)
        check_safety(resolved, self.settings.blocked_terms)
        if resolved.asset_id:
            await library.require_asset(self.engine, principal, resolved.asset_id)
        await self._check_quota(principal)
        job_id = new_id("job")
        try:
            async with self.engine.begin() as conn:
                tx = await self._insert_job(conn, principal, job_id, resolved, pipeline, gates, key)
                await tx.flush()
        except IntegrityError:
            if not key:
                raise
            existing = await self._job_by_idempotency_key(principal, key)
            if existing is None:
                raise
            return orchestrator_pb2.CreateJobResponse(job=await self.get_job(principal, existing), created=False)
        self._committed(tx)
        return orchestrator_pb2.CreateJobResponse(job=await self.get_job(principal, job_id), created=True)

    async def _job_by_idempotency_key(self, principal: Principal, key: str) -> str | None:
        async with reading(self.engine) as conn:
            return (
                await conn.execute(
                    select(jobs.c.id).where(jobs.c.tenant_id == principal.tenant_id, jobs.c.idempotency_key == key)
                )
            ).scalar()

    async def _check_quota(self, principal: Principal) -> None:
        now = time.time()
        mine = jobs.c.tenant_id == principal.tenant_id
        async with reading(self.engine) as conn:
            active, today = (
                await conn.execute(
                    select(
                        func.count().filter(jobs.c.state.not_in(JOB_TERMINAL)),
                        func.count().filter(jobs.c.created_at >= now - 86400),
                    ).where(mine)
                )
            ).one()
        if active >= self.settings.max_active_jobs_per_tenant:
            raise ResourceExhausted(f"{active} jobs are active; the limit is {self.settings.max_active_jobs_per_tenant}")
        if today >= self.settings.max_jobs_per_tenant_per_day:
            raise ResourceExhausted(f"daily job limit of {self.settings.max_jobs_per_tenant_per_day} reached")

    async def _insert_job(
        self,
        conn: AsyncConnection,
        principal: Principal,
        job_id: str,
        job_input: job_pb2.JobInput,
        pipeline: Pipeline,
        gates: list[str],
        idempotency_key: str,
    ) -> JobTx:
        now = time.time()
        row = {
            "id": job_id,
            "tenant_id": principal.tenant_id,
            "project_id": principal.project_id,
            "pipeline": pipeline.name,
            "state": QUEUED,
            "input": job_input.SerializeToString(),
            "idempotency_key": idempotency_key or None,
            "priority": int(job_input.priority),
            "event_seq": 0,
            "created_at": now,
            "updated_at": now,
            "cost_usd": 0.0,
            "asset_id": job_input.asset_id or new_id("ast"),
        }
        await conn.execute(insert(jobs).values(**row))
        step_rows = [
            {
                "id": new_id("stp"),
                "job_id": job_id,
                "tenant_id": principal.tenant_id,
                "name": spec.name,
                "ordinal": i,
                "state": PENDING,
                "depends_on": json.dumps(list(spec.depends_on)),
                "generation": 0,
                "attempt": 0,
                "max_attempts": self.settings.retry_policy(spec.name).max_attempts,
                "seed": job_input.seed,
                "review_gate": spec.name in gates,
                "cost_usd": 0.0,
                "progress": 0.0,
                "cancel_requested": False,
                "cache_hit": False,
            }
            for i, spec in enumerate(pipeline.steps)
        ]
        await conn.execute(insert(steps), step_rows)
        tx = JobTx(conn, (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one(), now)
        await self._advance(tx, step_rows, [])
        return tx

    async def get_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with reading(self.engine) as conn:
            row = (await conn.execute(self._owned_jobs(principal).where(jobs.c.id == job_id))).first()
            if row is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
            step_rows = await _steps_of(conn, [job_id])
            art_rows = await _artifacts_of(conn, [job_id])
            transitions = (
                await conn.execute(
                    select(job_transitions).where(job_transitions.c.job_id == job_id).order_by(job_transitions.c.id)
                )
            ).mappings().all()
            queue, job_eta = await eta.estimate(conn, step_rows)
        return convert.job(
            row._mapping, step_rows, art_rows, queue=queue, transitions=transitions, eta_seconds=job_eta
        )

    @staticmethod
    def _owned_jobs(principal: Principal) -> Any:
        return select(jobs).where(jobs.c.tenant_id == principal.tenant_id, jobs.c.project_id == principal.project_id)

    async def list_jobs(
        self, principal: Principal, request: orchestrator_pb2.ListJobsRequest
    ) -> orchestrator_pb2.ListJobsResponse:
        size = min(request.page_size or 20, MAX_PAGE)
        query = self._owned_jobs(principal).order_by(jobs.c.id.desc()).limit(size + 1)
        if request.page_token:
            query = query.where(jobs.c.id < _decode_token(request.page_token, "job"))
        if request.states:
            names = []
            for i, state in enumerate(request.states):
                if state not in JOB_STATE_NAME:
                    raise InvalidArgument(f"unknown job state {state}", field=f"states[{i}]")
                names.append(JOB_STATE_NAME[state])
            query = query.where(jobs.c.state.in_(names))
        if request.pipeline:
            if request.pipeline not in PIPELINES:
                raise InvalidArgument(f"unknown pipeline {request.pipeline!r}", field="pipeline")
            query = query.where(jobs.c.pipeline == request.pipeline)
        if request.HasField("created_after"):
            query = query.where(jobs.c.created_at >= request.created_after.ToNanoseconds() / 1e9)
        if request.HasField("created_before"):
            query = query.where(jobs.c.created_at < request.created_before.ToNanoseconds() / 1e9)
        async with reading(self.engine) as conn:
            rows = (await conn.execute(query)).mappings().all()
            page, more = rows[:size], len(rows) > size
            ids = [r["id"] for r in page]
            step_rows = await _steps_of(conn, ids)
            art_rows = await _artifacts_of(conn, ids)
        return orchestrator_pb2.ListJobsResponse(
            jobs=[
                convert.job(
                    r,
                    [s for s in step_rows if s["job_id"] == r["id"]],
                    [a for a in art_rows if a["job_id"] == r["id"]],
                )
                for r in page
            ],
            next_page_token=_encode_token(page[-1]["id"]) if more else "",
        )

    async def cancel_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with self._job_tx(job_id, principal.tenant_id) as tx:
            self._check_project(tx, principal)
            if tx.state in JOB_TERMINAL:
                raise FailedPrecondition(f"job {job_id} already {tx.state}", field="job_id")
            for step in await _steps_of(tx.conn, [job_id]):
                if step["state"] not in STEP_DONE:
                    await tx.set_step(step, CANCELLED, cancel_requested=True, finished_at=tx.now)
            tx.set_job(CANCELLED, finished_at=tx.now)
            tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_CANCELLED, cost_usd=tx.job["cost_usd"]))
        return await self.get_job(principal, job_id)

    async def retry_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with self._job_tx(job_id, principal.tenant_id) as tx:
            self._check_project(tx, principal)
            if tx.state not in (FAILED, CANCELLED):
                raise FailedPrecondition(f"only failed or cancelled jobs can be retried; job is {tx.state}")
            step_rows = await _steps_of(tx.conn, [job_id])
            for step in step_rows:
                if step["state"] in (FAILED, CANCELLED):
                    await tx.set_step(
                        step,
                        PENDING,
                        generation=step["generation"] + 1,
                        attempt=0,
                        error_code=None,
                        error_message=None,
                        cancel_requested=False,
                        progress=0.0,
                        finished_at=None,
                    )
            tx.set_job(QUEUED, finished_at=None, error_code=None, error_message=None)
            await self._advance(tx, step_rows, await _artifacts_of(tx.conn, [job_id]))
        return await self.get_job(principal, job_id)

    async def review_step(
        self, principal: Principal, request: orchestrator_pb2.ReviewStepRequest
    ) -> job_pb2.Job:
        _require_id("job", request.job_id, "job_id")
        if request.decision not in (orchestrator_pb2.REVIEW_DECISION_APPROVE, orchestrator_pb2.REVIEW_DECISION_REJECT):
            raise InvalidArgument("decision must be APPROVE or REJECT", field="decision")
        if len(request.notes) > 4096:
            raise InvalidArgument("longer than 4096 bytes", field="notes")
        async with self._job_tx(request.job_id, principal.tenant_id) as tx:
            self._check_project(tx, principal)
            step_rows = await _steps_of(tx.conn, [request.job_id])
            step = next((s for s in step_rows if request.step in (s["name"], s["id"])), None)
            if step is None:
                raise NotFound(f"no step {request.step!r} in job {request.job_id}", field="step")
            if step["state"] != AWAITING_REVIEW:
                raise FailedPrecondition(f"step {step['name']} is {step['state']}, not awaiting review", field="step")
            if request.decision == orchestrator_pb2.REVIEW_DECISION_APPROVE:
                await tx.set_step(step, SUCCEEDED, review_notes=request.notes)
                await self._advance(tx, step_rows, await _artifacts_of(tx.conn, [request.job_id]))
            else:
                generation = step["generation"] + 1
                await tx.set_step(
                    step,
                    PENDING,
                    generation=generation,
                    attempt=0,
                    seed=_reseed(step["seed"], generation),
                    review_notes=request.notes,
                    progress=0.0,
                    finished_at=None,
                    cache_hit=False,
                )
                await self._advance(tx, step_rows, await _artifacts_of(tx.conn, [request.job_id]))
        return await self.get_job(principal, request.job_id)

    @staticmethod
    def _check_project(tx: JobTx, principal: Principal) -> None:
        if tx.job["project_id"] != principal.project_id:
            raise NotFound(f"job {tx.job['id']} not found", field="job_id")

    async def watch_job(
        self, principal: Principal, job_id: str, after_sequence: int = 0
    ) -> AsyncIterator[events_pb2.JobEvent]:
        """The job's events after `after_sequence`, live, ending after the job's final event."""
        _require_id("job", job_id, "job_id")
        async with reading(self.engine) as conn:
            if (await conn.execute(self._owned_jobs(principal).where(jobs.c.id == job_id))).first() is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
        last = after_sequence
        with self.notifier.subscribe(job_id) as woken:
            while True:
                woken.clear()
                async with reading(self.engine) as conn:
                    rows = (
                        await conn.execute(
                            select(job_events.c.seq, job_events.c.payload)
                            .where(job_events.c.job_id == job_id, job_events.c.seq > last)
                            .order_by(job_events.c.seq)
                            .limit(500)
                        )
                    ).all()
                    state = (await conn.execute(select(jobs.c.state).where(jobs.c.id == job_id))).scalar()
                for row in rows:
                    event = events_pb2.JobEvent.FromString(row.payload)
                    last = row.seq
                    yield event
                if not rows:
                    if state in JOB_TERMINAL:
                        return
                    await wait_for_event(woken, 1.0)

    # ------------------------------------------------------------------ worker calls

    async def start_step(self, request: orchestrator_pb2.StartStepRequest) -> orchestrator_pb2.StartStepResponse:
        skip = orchestrator_pb2.START_DIRECTIVE_SKIP
        job_id = await self._job_of_step(request.step_id)
        if job_id is None:
            return orchestrator_pb2.StartStepResponse(directive=skip, reason="unknown step")
        async with self._job_tx(job_id) as tx:
            step = await _step_for_update(tx.conn, request.step_id)
            if request.generation != step["generation"]:
                return orchestrator_pb2.StartStepResponse(directive=skip, reason="superseded generation")
            if tx.state in JOB_TERMINAL or step["state"] not in (QUEUED, RUNNING):
                return orchestrator_pb2.StartStepResponse(directive=skip, reason=f"step is {step['state']}")
            lost = await self._supersede_running_attempts(tx, step)
            if step["attempt"] >= step["max_attempts"]:
                message = f"the step's worker stopped {lost or step['attempt']} times without finishing"
                await self._fail_job(tx, step, WORKER_LOST, message)
                return orchestrator_pb2.StartStepResponse(
                    directive=orchestrator_pb2.START_DIRECTIVE_DEAD_LETTER, reason=message
                )
            attempt_id = new_id("att")
            number = step["attempt"] + 1
            await tx.conn.execute(
                insert(step_attempts).values(
                    id=attempt_id,
                    step_id=step["id"],
                    generation=step["generation"],
                    number=number,
                    worker_id=request.worker_id[:200],
                    delivery_count=request.delivery_count,
                    state=RUNNING,
                    started_at=tx.now,
                )
            )
            await tx.set_step(step, RUNNING, attempt=number, started_at=step["started_at"] or tx.now)
            if tx.state == QUEUED:
                tx.set_job(RUNNING)
            tx.emit(step, started=events_pb2.StepStarted(attempt=number, worker_id=request.worker_id))
        return orchestrator_pb2.StartStepResponse(
            directive=orchestrator_pb2.START_DIRECTIVE_RUN, attempt_id=attempt_id, attempt=number
        )

    async def _supersede_running_attempts(self, tx: JobTx, step: Dict) -> int:
        """Attempts still 'running' when a step is delivered again belong to dead workers."""
        result = await tx.conn.execute(
            update(step_attempts)
            .where(step_attempts.c.step_id == step["id"], step_attempts.c.state == RUNNING)
            .values(state="superseded", finished_at=tx.now)
        )
        return int(result.rowcount or 0)

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        found = await self._attempt(request.attempt_id)
        if found is None:
            return orchestrator_pb2.ReportProgressResponse(cancel_requested=True)
        attempt, job_id = found
        async with self._job_tx(job_id) as tx:
            step = await _step_for_update(tx.conn, attempt["step_id"])
            if not _attempt_is_live(tx, step, attempt):
                return orchestrator_pb2.ReportProgressResponse(cancel_requested=True)
            fraction = min(max(float(request.fraction), 0.0), 1.0)
            await tx.set_step(step, progress=fraction, progress_message=request.message[:500], progress_at=tx.now)
            tx.emit(step, progress=events_pb2.StepProgress(fraction=fraction, message=request.message[:500]))
            if request.HasField("preview"):
                await tx.set_step(step, preview_key=request.preview.blob_key)
                tx.emit(step, preview=events_pb2.StepPreview(preview=request.preview))
        return orchestrator_pb2.ReportProgressResponse(cancel_requested=False)

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        found = await self._attempt(request.attempt_id)
        if found is None:
            raise NotFound(f"attempt {request.attempt_id} not found", field="attempt_id")
        attempt, job_id = found
        async with self._job_tx(job_id) as tx:
            step = await _step_for_update(tx.conn, attempt["step_id"])
            if not _attempt_may_complete(tx, step, attempt):
                return orchestrator_pb2.CompleteStepResponse(accepted=False)
            await self._record_result(tx, step, attempt, request)
            if step["review_gate"]:
                await tx.set_step(step, AWAITING_REVIEW)
                tx.emit(step, review_needed=events_pb2.ReviewNeeded(outputs=request.outputs))
                if not any(s["state"] in (QUEUED, RUNNING) for s in await _steps_of(tx.conn, [job_id])):
                    tx.set_job(AWAITING_REVIEW)
            else:
                await tx.set_step(step, SUCCEEDED)
                await self._advance(tx, await _steps_of(tx.conn, [job_id]), await _artifacts_of(tx.conn, [job_id]))
        return orchestrator_pb2.CompleteStepResponse(accepted=True)

    async def _record_result(
        self, tx: JobTx, step: Dict, attempt: Dict, request: orchestrator_pb2.CompleteStepRequest
    ) -> None:
        pool = request.pool if request.pool in ("gpu", "cpu") else "cpu"
        duration = 0.0 if request.cache_hit else max(0.0, request.duration_seconds)
        cost = duration * self.settings.prices.per_second(pool)
        await tx.conn.execute(
            update(step_attempts)
            .where(step_attempts.c.id == attempt["id"])
            .values(state=SUCCEEDED, finished_at=tx.now)
        )
        if request.outputs:
            await tx.conn.execute(
                insert(artifacts),
                [
                    {
                        **convert.artifact_dict(a),
                        "preview_key": a.preview_key or None,
                        "tenant_id": tx.job["tenant_id"],
                        "job_id": tx.job["id"],
                        "step_id": step["id"],
                        "generation": step["generation"],
                        "created_at": tx.now,
                    }
                    for a in request.outputs
                ],
            )
        await tx.set_step(
            step,
            finished_at=tx.now,
            duration_s=duration,
            cost_usd=cost,
            pool=pool,
            backend=request.backend[:60],
            backend_version=request.backend_version[:60],
            cache_hit=request.cache_hit,
            notes=json.dumps(list(request.notes)[:50]),
            progress=1.0,
            preview_key=request.preview.blob_key or step["preview_key"],
        )
        tx.set_job(cost_usd=tx.job["cost_usd"] + cost)
        if request.preview.blob_key:
            tx.emit(step, preview=events_pb2.StepPreview(preview=request.preview))
        tx.emit(
            step,
            step_completed=events_pb2.StepCompleted(
                outputs=request.outputs, duration_seconds=duration, cost_usd=cost, cache_hit=request.cache_hit
            ),
        )
        if not request.cache_hit:
            await eta.record_duration(tx.conn, step["name"], duration, tx.now)

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        discard = orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DISCARD)
        found = await self._attempt(request.attempt_id)
        if found is None:
            return discard
        attempt, job_id = found
        code = request.error.code[:60] or "INTERNAL"
        message = request.error.message[:2000]
        async with self._job_tx(job_id) as tx:
            step = await _step_for_update(tx.conn, attempt["step_id"])
            if not _attempt_is_live(tx, step, attempt):
                return discard
            await tx.conn.execute(
                update(step_attempts)
                .where(step_attempts.c.id == attempt["id"])
                .values(state=FAILED, finished_at=tx.now, error_code=code, error_message=message)
            )
            if request.retryable and step["attempt"] < step["max_attempts"]:
                delay = _backoff(self.settings.retry_policy(step["name"]), step["attempt"])
                await tx.set_step(step, QUEUED, queued_at=tx.now, error_code=code, error_message=message)
                tx.emit(
                    step,
                    retrying=events_pb2.StepRetrying(
                        attempt=step["attempt"], delay_seconds=delay, error=job_pb2.Error(code=code, message=message)
                    ),
                )
                return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_RETRY, delay_seconds=delay)
            await self._fail_job(tx, step, code, message)
        return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DEAD_LETTER)

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        """A worker released the step (shutdown): it does not count as an attempt."""
        found = await self._attempt(request.attempt_id)
        if found is None:
            return
        attempt, job_id = found
        async with self._job_tx(job_id) as tx:
            step = await _step_for_update(tx.conn, attempt["step_id"])
            if not _attempt_is_live(tx, step, attempt):
                return
            await tx.conn.execute(
                update(step_attempts)
                .where(step_attempts.c.id == attempt["id"])
                .values(state="abandoned", finished_at=tx.now, error_message=request.reason[:200])
            )
            await tx.set_step(step, QUEUED, attempt=step["attempt"] - 1, queued_at=tx.now)

    async def _fail_job(self, tx: JobTx, step: Dict, code: str, message: str) -> None:
        await tx.set_step(step, FAILED, finished_at=tx.now, error_code=code, error_message=message)
        for other in await _steps_of(tx.conn, [tx.job["id"]]):
            if other["id"] != step["id"] and other["state"] not in STEP_DONE:
                await tx.set_step(other, CANCELLED, cancel_requested=True)
        tx.set_job(FAILED, finished_at=tx.now, error_code=code, error_message=message)
        error = job_pb2.Error(code=code, message=f"{step['name']}: {message}")
        tx.emit(step, failed=events_pb2.JobFailed(error=error))
        tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_FAILED, cost_usd=tx.job["cost_usd"]))

    async def _job_of_step(self, step_id: str) -> str | None:
        if not is_valid_id("stp", step_id):
            return None
        async with reading(self.engine) as conn:
            return (await conn.execute(select(steps.c.job_id).where(steps.c.id == step_id))).scalar()

    async def _attempt(self, attempt_id: str) -> tuple[Dict, str] | None:
        if not is_valid_id("att", attempt_id):
            raise InvalidArgument(f"malformed attempt id {attempt_id!r}", field="attempt_id")
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(step_attempts, steps.c.job_id)
                    .join(steps, steps.c.id == step_attempts.c.step_id)
                    .where(step_attempts.c.id == attempt_id)
                )
            ).first()
        return None if row is None else (dict(row._mapping), row.job_id)

    # ------------------------------------------------------------------ the DAG

    async def _advance(self, tx: JobTx, step_rows: list[Dict], art_rows: list[Dict]) -> None:
        """Queue every pending step whose parents succeeded; finish the job when all did."""
        by_name = {s["name"]: s for s in step_rows}
        pipeline = PIPELINES[tx.job["pipeline"]]
        job_input = job_pb2.JobInput.FromString(tx.job["input"])
        for step in step_rows:
            if step["state"] != PENDING:
                continue
            if all(by_name[p]["state"] == SUCCEEDED for p in json.loads(step["depends_on"])):
                await tx.set_step(step, QUEUED, queued_at=tx.now)
                tx.enqueue(_task(tx, step, job_input, pipeline, by_name, art_rows), priority=tx.job["priority"])
                position = await eta.queue_position(tx.conn, step)
                tx.emit(step, queued=events_pb2.StepQueued(position=position, eta_seconds=await eta.step_eta(tx.conn, step, position)))
        if all(s["state"] == SUCCEEDED for s in step_rows):
            await self._finish_job(tx, step_rows, art_rows, pipeline, job_input)
        elif tx.state == AWAITING_REVIEW and not any(s["state"] == AWAITING_REVIEW for s in step_rows):
            tx.set_job(RUNNING if any(s["state"] == RUNNING for s in step_rows) else QUEUED)

    async def _finish_job(
        self, tx: JobTx, step_rows: list[Dict], art_rows: list[Dict], pipeline: Pipeline, job_input: job_pb2.JobInput
    ) -> None:
        version, files = await library.publish_version(
            tx.conn, self.blobs, tx.job, job_input, step_rows, art_rows, pipeline, tx.now
        )
        tx.set_job(SUCCEEDED, finished_at=tx.now, asset_version=version)
        tx.emit(
            finished=events_pb2.JobFinished(
                state=job_pb2.JOB_STATE_SUCCEEDED,
                asset_id=tx.job["asset_id"],
                asset_version=version,
                artifacts=files,
                cost_usd=tx.job["cost_usd"],
            )
        )


def _task(
    tx: JobTx,
    step: Dict,
    job_input: job_pb2.JobInput,
    pipeline: Pipeline,
    by_name: dict[str, Dict],
    art_rows: list[Dict],
) -> step_pb2.StepTask:
    """The queue message: the step, the job input and the outputs of its ancestors (nearest wins)."""
    inputs: dict[str, job_pb2.Artifact] = {}
    for ancestor in pipeline.ancestors(step["name"]):
        parent = by_name[ancestor]
        for art in art_rows:
            if art["step_id"] == parent["id"] and art["generation"] == parent["generation"]:
                inputs.setdefault(art["name"], convert.artifact(art))
    task = step_pb2.StepTask(
        job_id=tx.job["id"],
        step_id=step["id"],
        step_name=step["name"],
        generation=step["generation"],
        tenant_id=tx.job["tenant_id"],
        project_id=tx.job["project_id"],
        job_input=job_input,
        seed=step["seed"],
        inputs=list(inputs.values()),
        priority=tx.job["priority"],
        enqueued_at=timestamp(tx.now),
    )
    if step["name"] in job_input.step_options:
        task.params.CopyFrom(job_input.step_options[step["name"]])
    return task


def _attempt_is_live(tx: JobTx, step: Dict, attempt: Dict) -> bool:
    return (
        tx.state not in JOB_TERMINAL
        and step["state"] == RUNNING
        and attempt["state"] == RUNNING
        and attempt["generation"] == step["generation"]
    )


def _attempt_may_complete(tx: JobTx, step: Dict, attempt: Dict) -> bool:
    """A superseded attempt of the current generation may still deliver: results are deterministic."""
    return (
        tx.state not in JOB_TERMINAL
        and step["state"] == RUNNING
        and attempt["state"] in (RUNNING, "superseded")
        and attempt["generation"] == step["generation"]
    )


def _backoff(policy: Any, attempt: int) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _reseed(seed: int, generation: int) -> int:
    return (seed * 1_103_515_245 + 12_345 + generation * 2_654_435_761) % (2**31 - 1)


async def _steps_of(conn: AsyncConnection, job_ids: list[str]) -> list[Dict]:
    if not job_ids:
        return []
    rows = await conn.execute(select(steps).where(steps.c.job_id.in_(job_ids)).order_by(steps.c.job_id, steps.c.ordinal))
    return [dict(r) for r in rows.mappings()]


async def _artifacts_of(conn: AsyncConnection, job_ids: list[str]) -> list[Dict]:
    if not job_ids:
        return []
    rows = await conn.execute(select(artifacts).where(artifacts.c.job_id.in_(job_ids)).order_by(artifacts.c.id))
    return [dict(r) for r in rows.mappings()]


async def _step_for_update(conn: AsyncConnection, step_id: str) -> Dict:
    return dict((await conn.execute(select(steps).where(steps.c.id == step_id))).mappings().one())


__all__ = ["Orchestrator", "Principal", "and_", "loads_list", "or_"]
