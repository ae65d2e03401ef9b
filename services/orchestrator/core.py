"""The orchestrator's job state machine, independent of gRPC.

Every operation on a job locks the job row and changes it, its steps, its event log and
the outbox in one transaction (see jobtx.py). Worker calls are idempotent: a duplicate
delivery, a redelivery after a crash or a late result from a superseded attempt never
changes a result already recorded.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assetcore.blobs.base import BlobStore
from assetcore.config import Settings
from assetcore.db.engine import reading, writing
from assetcore.db.schema import artifacts, job_events, job_transitions, jobs, step_attempts, steps
from assetcore.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from assetcore.events.notifier import JobNotifier, wait_for_event
from assetcore.ids import is_valid_id, new_id
from assetcore.proto.v1 import events_pb2, job_pb2, orchestrator_pb2
from services.orchestrator import convert, dag, eta, library
from services.orchestrator.jobtx import JobTx
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
# Committed outbox rows (with ids) go to the relay at once; it also polls for any it missed.
OutboxHandoff = Callable[[list[Dict]], None]


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    project_id: str
    role: str
    key_id: str

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"


@dataclass
class _Scope:
    conn: AsyncConnection
    now: float
    tx: JobTx | None = field(default=None)


def _require_id(prefix: str, value: str, field_name: str) -> None:
    if not is_valid_id(prefix, value):
        raise InvalidArgument(f"malformed id {value!r}", field=field_name)


def encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_token(token: str, prefix: str) -> str:
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
        on_outbox: OutboxHandoff,
        *,
        publish_events: bool = False,
    ) -> None:
        """`publish_events`: events also go to the outbox for the event bus (aws profile)."""
        self.engine = engine
        self.blobs = blobs
        self.settings = settings
        self.notifier = notifier
        self.eta = eta.EtaModel()
        self._on_outbox = on_outbox
        self._publish_events = publish_events

    # ------------------------------------------------------------------ transactions

    @asynccontextmanager
    async def _scope(self) -> AsyncIterator[_Scope]:
        """A write transaction; the JobTx put in `scope.tx` is flushed before it commits."""
        async with writing(self.engine) as conn:
            scope = _Scope(conn, time.time())
            yield scope
            if scope.tx is not None:
                await scope.tx.flush()
        if scope.tx is not None:
            if scope.tx.events:
                self.notifier.notify(scope.tx.job["id"])
            if scope.tx.outbox_rows:
                self._on_outbox(scope.tx.outbox_rows)

    async def _job(self, scope: _Scope, job_id: str, principal: Principal | None = None) -> JobTx:
        tx = await JobTx.for_job(
            scope.conn,
            job_id,
            scope.now,
            publish_events=self._publish_events,
            tenant_id=principal.tenant_id if principal else None,
        )
        if tx is None or (principal is not None and tx.job["project_id"] != principal.project_id):
            raise NotFound(f"job {job_id} not found", field="job_id")
        scope.tx = tx
        return tx

    # ------------------------------------------------------------------ client calls

    async def create_job(
        self, principal: Principal, request: orchestrator_pb2.CreateJobRequest
    ) -> orchestrator_pb2.CreateJobResponse:
        key = request.idempotency_key
        if len(key) > 200:
            raise InvalidArgument("longer than 200 characters", field="idempotency_key")
        if key and (existing := await self._job_by_idempotency_key(principal, key)) is not None:
            return orchestrator_pb2.CreateJobResponse(
                job=await self.get_job(principal, existing), created=False
            )
        resolved, pipeline, gates = resolve_input(request.input)
        check_safety(resolved, self.settings.blocked_terms)
        if resolved.asset_id:
            await library.require_asset(self.engine, principal, resolved.asset_id)
        await self._check_quota(principal)
        try:
            async with self._scope() as scope:
                tx, step_rows = await self._new_job(scope, principal, resolved, pipeline, gates, key)
        except IntegrityError:
            existing = await self._job_by_idempotency_key(principal, key) if key else None
            if existing is None:
                raise
            return orchestrator_pb2.CreateJobResponse(
                job=await self.get_job(principal, existing), created=False
            )
        return orchestrator_pb2.CreateJobResponse(job=self._created_job(tx, step_rows), created=True)

    async def _job_by_idempotency_key(self, principal: Principal, key: str) -> str | None:
        async with reading(self.engine) as conn:
            query = select(jobs.c.id).where(
                jobs.c.tenant_id == principal.tenant_id, jobs.c.idempotency_key == key
            )
            return (await conn.execute(query)).scalar()

    async def _check_quota(self, principal: Principal) -> None:
        mine = jobs.c.tenant_id == principal.tenant_id
        query = select(
            func.count().filter(jobs.c.state.not_in(JOB_TERMINAL)),
            func.count().filter(jobs.c.created_at >= time.time() - 86400),
        ).where(mine)
        async with reading(self.engine) as conn:
            active, today = (await conn.execute(query)).one()
        if active >= self.settings.max_active_jobs_per_tenant:
            limit = self.settings.max_active_jobs_per_tenant
            raise ResourceExhausted(f"{active} jobs are active; the limit is {limit}")
        if today >= self.settings.max_jobs_per_tenant_per_day:
            raise ResourceExhausted(f"daily job limit of {self.settings.max_jobs_per_tenant_per_day} reached")

    async def _new_job(
        self,
        scope: _Scope,
        principal: Principal,
        job_input: job_pb2.JobInput,
        pipeline: Pipeline,
        gates: list[str],
        idempotency_key: str,
    ) -> tuple[JobTx, list[Dict]]:
        now = scope.now
        job = {
            "id": new_id("job"),
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
            "started_at": None,
            "finished_at": None,
            "error_code": None,
            "error_message": None,
            "cost_usd": 0.0,
            "asset_id": job_input.asset_id or new_id("ast"),
            "asset_version": None,
        }
        step_rows = [
            _new_step(job, spec.name, i, spec.depends_on, job_input, spec.name in gates, self.settings)
            for i, spec in enumerate(pipeline.steps)
        ]
        tx = JobTx(scope.conn, job, now, publish_events=self._publish_events, new=True)
        scope.tx = tx
        tx.add_steps(step_rows)
        await self._advance(tx, step_rows, [])
        return tx, step_rows

    def _created_job(self, tx: JobTx, step_rows: list[Dict]) -> job_pb2.Job:
        """The response to CreateJob, from what was just written (no read back)."""
        queue = {
            e.step_id: job_pb2.QueueInfo(position=e.queued.position, eta_seconds=e.queued.eta_seconds)
            for e in tx.events
            if e.WhichOneof("kind") == "queued"
        }
        return convert.job(
            tx.job, step_rows, [], queue=queue, eta_seconds=self.eta.remaining(step_rows, queue)
        )

    async def get_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with reading(self.engine) as conn:
            row = (
                (await conn.execute(self._owned_jobs(principal).where(jobs.c.id == job_id)))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
            step_rows = await _steps_of(conn, [job_id])
            art_rows = await _artifacts_of(conn, [job_id])
            transitions = (
                (
                    await conn.execute(
                        select(job_transitions)
                        .where(job_transitions.c.job_id == job_id)
                        .order_by(job_transitions.c.id)
                    )
                )
                .mappings()
                .all()
            )
            queue = await self.eta.queue_info(conn, step_rows)
        return convert.job(
            row,
            step_rows,
            art_rows,
            queue=queue,
            transitions=transitions,
            eta_seconds=self.eta.remaining(step_rows, queue),
        )

    @staticmethod
    def _owned_jobs(principal: Principal) -> Any:
        return select(jobs).where(
            jobs.c.tenant_id == principal.tenant_id, jobs.c.project_id == principal.project_id
        )

    async def list_jobs(
        self, principal: Principal, request: orchestrator_pb2.ListJobsRequest
    ) -> orchestrator_pb2.ListJobsResponse:
        size = min(request.page_size or 20, MAX_PAGE)
        query = self._owned_jobs(principal).order_by(jobs.c.id.desc()).limit(size + 1)
        if request.page_token:
            query = query.where(jobs.c.id < decode_token(request.page_token, "job"))
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
            next_page_token=encode_token(page[-1]["id"]) if more else "",
        )

    async def cancel_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with self._scope() as scope:
            tx = await self._job(scope, job_id, principal)
            if tx.state in JOB_TERMINAL:
                raise FailedPrecondition(f"job {job_id} already {tx.state}", field="job_id")
            for step in await _steps_of(tx.conn, [job_id]):
                if step["state"] not in STEP_DONE:
                    tx.set_step(step, CANCELLED, cancel_requested=True, finished_at=tx.now)
            tx.set_job(CANCELLED, finished_at=tx.now)
            tx.emit(
                finished=events_pb2.JobFinished(
                    state=job_pb2.JOB_STATE_CANCELLED, cost_usd=tx.job["cost_usd"]
                )
            )
        return await self.get_job(principal, job_id)

    async def retry_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")
        async with self._scope() as scope:
            tx = await self._job(scope, job_id, principal)
            if tx.state not in (FAILED, CANCELLED):
                raise FailedPrecondition(f"only failed or cancelled jobs can be retried; job is {tx.state}")
            step_rows = await _steps_of(tx.conn, [job_id])
            for step in step_rows:
                if step["state"] in (FAILED, CANCELLED):
                    tx.set_step(
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
        decisions = (orchestrator_pb2.REVIEW_DECISION_APPROVE, orchestrator_pb2.REVIEW_DECISION_REJECT)
        if request.decision not in decisions:
            raise InvalidArgument("decision must be APPROVE or REJECT", field="decision")
        if len(request.notes) > 4096:
            raise InvalidArgument("longer than 4096 bytes", field="notes")
        async with self._scope() as scope:
            tx = await self._job(scope, request.job_id, principal)
            step_rows = await _steps_of(tx.conn, [request.job_id])
            step = next((s for s in step_rows if request.step in (s["name"], s["id"])), None)
            if step is None:
                raise NotFound(f"no step {request.step!r} in job {request.job_id}", field="step")
            if step["state"] != AWAITING_REVIEW:
                raise FailedPrecondition(
                    f"step {step['name']} is {step['state']}, not awaiting review", field="step"
                )
            if request.decision == orchestrator_pb2.REVIEW_DECISION_APPROVE:
                tx.set_step(step, SUCCEEDED, review_notes=request.notes)
            else:
                generation = step["generation"] + 1
                tx.set_step(
                    step,
                    PENDING,
                    generation=generation,
                    attempt=0,
                    seed=dag.reseed(step["seed"], generation),
                    review_notes=request.notes,
                    progress=0.0,
                    finished_at=None,
                    cache_hit=False,
                )
            await self._advance(tx, step_rows, await _artifacts_of(tx.conn, [request.job_id]))
        return await self.get_job(principal, request.job_id)

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
                    last = row.seq
                    yield events_pb2.JobEvent.FromString(row.payload)
                if not rows:
                    if state in JOB_TERMINAL:
                        return
                    await wait_for_event(woken, 1.0)

    # ------------------------------------------------------------------ worker calls

    async def start_step(
        self, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        skip = orchestrator_pb2.START_DIRECTIVE_SKIP
        if not is_valid_id("stp", request.step_id):
            return orchestrator_pb2.StartStepResponse(directive=skip, reason="malformed step id")
        async with self._scope() as scope:
            found = await JobTx.for_step(
                scope.conn, request.step_id, scope.now, publish_events=self._publish_events
            )
            if found is None:
                return orchestrator_pb2.StartStepResponse(directive=skip, reason="unknown step")
            tx, step = found
            if request.generation != step["generation"]:
                return orchestrator_pb2.StartStepResponse(directive=skip, reason="superseded generation")
            if tx.state in JOB_TERMINAL or step["state"] not in (QUEUED, RUNNING):
                return orchestrator_pb2.StartStepResponse(directive=skip, reason=f"step is {step['state']}")
            scope.tx = tx
            if step["state"] == RUNNING:  # redelivered: the attempt in progress belongs to a dead worker
                await tx.conn.execute(
                    update(step_attempts)
                    .where(step_attempts.c.step_id == step["id"], step_attempts.c.state == RUNNING)
                    .values(state=dag.SUPERSEDED, finished_at=tx.now)
                )
            if step["attempt"] >= step["max_attempts"]:
                message = f"the step's worker stopped {step['attempt']} times without finishing"
                await self._fail_job(tx, step, WORKER_LOST, message)
                return orchestrator_pb2.StartStepResponse(
                    directive=orchestrator_pb2.START_DIRECTIVE_DEAD_LETTER, reason=message
                )
            attempt_id, number = new_id("att"), step["attempt"] + 1
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
            tx.set_step(step, RUNNING, attempt=number, started_at=step["started_at"] or tx.now)
            if tx.state == QUEUED:
                tx.set_job(RUNNING, started_at=tx.job["started_at"] or tx.now)
            tx.emit(step, started=events_pb2.StepStarted(attempt=number, worker_id=request.worker_id))
        return orchestrator_pb2.StartStepResponse(
            directive=orchestrator_pb2.START_DIRECTIVE_RUN, attempt_id=attempt_id, attempt=number
        )

    async def _for_attempt(self, scope: _Scope, attempt_id: str) -> tuple[JobTx, Dict, Dict] | None:
        if not is_valid_id("att", attempt_id):
            raise InvalidArgument(f"malformed attempt id {attempt_id!r}", field="attempt_id")
        return await JobTx.for_attempt(scope.conn, attempt_id, scope.now, publish_events=self._publish_events)

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        async with self._scope() as scope:
            found = await self._for_attempt(scope, request.attempt_id)
            if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
                return orchestrator_pb2.ReportProgressResponse(cancel_requested=True)
            tx, step, _ = found
            scope.tx = tx
            fraction = min(max(float(request.fraction), 0.0), 1.0)
            message = request.message[:500]
            tx.set_step(step, progress=fraction, progress_message=message, progress_at=tx.now)
            tx.emit(step, progress=events_pb2.StepProgress(fraction=fraction, message=message))
            if request.HasField("preview"):
                tx.set_step(step, preview_key=request.preview.blob_key)
                tx.emit(step, preview=events_pb2.StepPreview(preview=request.preview))
        return orchestrator_pb2.ReportProgressResponse(cancel_requested=False)

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        async with self._scope() as scope:
            found = await self._for_attempt(scope, request.attempt_id)
            if found is None:
                raise NotFound(f"attempt {request.attempt_id} not found", field="attempt_id")
            tx, step, attempt = found
            if not dag.attempt_may_complete(tx.state, step, attempt):
                return orchestrator_pb2.CompleteStepResponse(accepted=False)
            scope.tx = tx
            await self._record_result(tx, step, attempt, request)
            step_rows = [
                step if s["id"] == step["id"] else s for s in await _steps_of(tx.conn, [tx.job["id"]])
            ]
            if step["review_gate"]:
                tx.set_step(step, AWAITING_REVIEW)
                tx.emit(step, review_needed=events_pb2.ReviewNeeded(outputs=request.outputs))
                if not any(s["state"] in (QUEUED, RUNNING) for s in step_rows):
                    tx.set_job(AWAITING_REVIEW)
            else:
                tx.set_step(step, SUCCEEDED)
                await self._advance(tx, step_rows, await _artifacts_of(tx.conn, [tx.job["id"]]))
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
            common = {
                "tenant_id": tx.job["tenant_id"],
                "job_id": tx.job["id"],
                "step_id": step["id"],
                "generation": step["generation"],
                "created_at": tx.now,
            }
            rows = [
                {**convert.artifact_dict(a), "preview_key": a.preview_key or None, **common}
                for a in request.outputs
            ]
            await tx.conn.execute(insert(artifacts), rows)
        tx.set_step(
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
        tx.emit(step, progress=events_pb2.StepProgress(fraction=1.0, message="done"))
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
        code = request.error.code[:60] or "INTERNAL"
        message = request.error.message[:2000]
        async with self._scope() as scope:
            found = await self._for_attempt(scope, request.attempt_id)
            if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
                return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DISCARD)
            tx, step, attempt = found
            scope.tx = tx
            await tx.conn.execute(
                update(step_attempts)
                .where(step_attempts.c.id == attempt["id"])
                .values(state=FAILED, finished_at=tx.now, error_code=code, error_message=message)
            )
            if request.retryable and step["attempt"] < step["max_attempts"]:
                delay = dag.backoff(self.settings.retry_policy(step["name"]), step["attempt"])
                tx.set_step(step, QUEUED, queued_at=tx.now, error_code=code, error_message=message)
                error = job_pb2.Error(code=code, message=message)
                tx.emit(
                    step,
                    retrying=events_pb2.StepRetrying(
                        attempt=step["attempt"], delay_seconds=delay, error=error
                    ),
                )
                return orchestrator_pb2.FailStepResponse(
                    action=orchestrator_pb2.FAIL_ACTION_RETRY, delay_seconds=delay
                )
            await self._fail_job(tx, step, code, message)
        return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DEAD_LETTER)

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        """A worker released the step (shutdown): it does not count as an attempt."""
        async with self._scope() as scope:
            found = await self._for_attempt(scope, request.attempt_id)
            if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
                return
            tx, step, attempt = found
            scope.tx = tx
            await tx.conn.execute(
                update(step_attempts)
                .where(step_attempts.c.id == attempt["id"])
                .values(state="abandoned", finished_at=tx.now, error_message=request.reason[:200])
            )
            tx.set_step(step, QUEUED, attempt=step["attempt"] - 1, queued_at=tx.now)

    async def _fail_job(self, tx: JobTx, step: Dict, code: str, message: str) -> None:
        tx.set_step(step, FAILED, finished_at=tx.now, error_code=code, error_message=message)
        for other in await _steps_of(tx.conn, [tx.job["id"]]):
            if other["id"] != step["id"] and other["state"] not in STEP_DONE:
                tx.set_step(other, CANCELLED, cancel_requested=True)
        tx.set_job(FAILED, finished_at=tx.now, error_code=code, error_message=message)
        error = job_pb2.Error(code=code, message=f"{step['name']}: {message}")
        tx.emit(step, failed=events_pb2.JobFailed(error=error))
        tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_FAILED, cost_usd=tx.job["cost_usd"]))

    # ------------------------------------------------------------------ the DAG

    async def _advance(self, tx: JobTx, step_rows: list[Dict], art_rows: Sequence[Dict]) -> None:
        """Queue every pending step whose parents succeeded; finish the job when all did."""
        by_name = {s["name"]: s for s in step_rows}
        pipeline = PIPELINES[tx.job["pipeline"]]
        job_input = job_pb2.JobInput.FromString(tx.job["input"])
        for step in step_rows:
            if step["state"] != PENDING or any(
                by_name[p]["state"] != SUCCEEDED for p in json.loads(step["depends_on"])
            ):
                continue
            tx.set_step(step, QUEUED, queued_at=tx.now)
            tx.enqueue(
                dag.step_task(tx.job, step, job_input, pipeline, by_name, art_rows, tx.now),
                tx.job["priority"],
            )
            position = await eta.queue_position(tx.conn, step)
            eta_s = await self.eta.step_eta(tx.conn, step["name"], position)
            tx.emit(step, queued=events_pb2.StepQueued(position=position, eta_seconds=eta_s))
        if all(s["state"] == SUCCEEDED for s in step_rows):
            await self._finish_job(tx, step_rows, art_rows, pipeline, job_input)
        elif tx.state == AWAITING_REVIEW and not any(s["state"] == AWAITING_REVIEW for s in step_rows):
            tx.set_job(RUNNING if any(s["state"] == RUNNING for s in step_rows) else QUEUED)

    async def _finish_job(
        self,
        tx: JobTx,
        step_rows: list[Dict],
        art_rows: Sequence[Dict],
        pipeline: Pipeline,
        job_input: job_pb2.JobInput,
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


def _new_step(
    job: Dict,
    name: str,
    ordinal: int,
    depends_on: Sequence[str],
    job_input: job_pb2.JobInput,
    gated: bool,
    settings: Settings,
) -> Dict:
    return {
        "id": new_id("stp"),
        "job_id": job["id"],
        "tenant_id": job["tenant_id"],
        "name": name,
        "ordinal": ordinal,
        "state": PENDING,
        "depends_on": json.dumps(list(depends_on)),
        "generation": 0,
        "attempt": 0,
        "max_attempts": settings.retry_policy(name).max_attempts,
        "seed": job_input.seed,
        "pool": None,
        "review_gate": gated,
        "review_notes": None,
        "backend": None,
        "backend_version": None,
        "queued_at": None,
        "started_at": None,
        "finished_at": None,
        "duration_s": None,
        "cost_usd": 0.0,
        "progress": 0.0,
        "progress_message": None,
        "progress_at": None,
        "cancel_requested": False,
        "cache_hit": False,
        "notes": None,
        "preview_key": None,
        "error_code": None,
        "error_message": None,
    }


async def _steps_of(conn: AsyncConnection, job_ids: list[str]) -> list[Dict]:
    if not job_ids:
        return []
    query = select(steps).where(steps.c.job_id.in_(job_ids)).order_by(steps.c.job_id, steps.c.ordinal)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def _artifacts_of(conn: AsyncConnection, job_ids: list[str]) -> list[Dict]:
    if not job_ids:
        return []
    query = select(artifacts).where(artifacts.c.job_id.in_(job_ids)).order_by(artifacts.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
