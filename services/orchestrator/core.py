"""The orchestrator's job state machine, independent of gRPC.

Every operation on a job locks the job row and changes it, its steps, its event log and
the outbox in one transaction (see jobtx.py). Worker calls are idempotent: a duplicate
delivery, a redelivery after a crash or a late result from a superseded attempt never
changes a result already recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from assetcore.blobs.base import BlobStore, put_content
from assetcore.config import Settings
from assetcore.db.database import Database
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
T = TypeVar("T")
WORKER_LOST = "WORKER_LOST"
MAX_PAGE = 100
# Committed outbox rows (with ids) go to the relay at once; it also polls for any it missed.
OutboxHandoff = Callable[[list[Dict]], None]

# Statements of the hot path, built once (building costs far more than running a cached one).
STEPS_OF = (
    select(steps)
    .where(steps.c.job_id.in_(bindparam("job_ids", expanding=True)))
    .order_by(steps.c.job_id, steps.c.ordinal)
)
ARTIFACTS_OF = (
    select(artifacts)
    .where(artifacts.c.job_id.in_(bindparam("job_ids", expanding=True)))
    .order_by(artifacts.c.id)
)
INSERT_ATTEMPT = insert(step_attempts)
UPDATE_ATTEMPT = update(step_attempts).where(step_attempts.c.id == bindparam("b_id"))  # SET: the parameters
SUPERSEDE_ATTEMPTS = (
    update(step_attempts)
    .where(step_attempts.c.step_id == bindparam("b_step"), step_attempts.c.state == RUNNING)
    .values(state=dag.SUPERSEDED, finished_at=bindparam("b_now"))
)
INSERT_ARTIFACTS = insert(artifacts)
JOB_BY_IDEMPOTENCY_KEY = select(jobs.c.id).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.idempotency_key == bindparam("key")
)
ACTIVE_JOBS = select(func.count()).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.state.in_([QUEUED, RUNNING, AWAITING_REVIEW])
)
JOBS_SINCE = select(func.count()).where(
    jobs.c.tenant_id == bindparam("tenant_id"), jobs.c.created_at >= bindparam("since")
)
EVENTS_AFTER = (
    select(job_events.c.seq, job_events.c.payload)
    .where(job_events.c.job_id == bindparam("job_id"), job_events.c.seq > bindparam("after"))
    .order_by(job_events.c.seq)
    .limit(500)
)
JOB_STATE = select(jobs.c.state).where(jobs.c.id == bindparam("job_id"))


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
    """One write transaction (its function runs in the database's thread or greenlet)."""

    conn: Connection
    now: float
    loop: asyncio.AbstractEventLoop
    db: Database
    blobs: BlobStore
    tx: JobTx | None = field(default=None)

    def copy_blob(self, source: str, target: str) -> None:
        """Blob I/O is async: the transaction waits for it."""
        self.db.wait_for(self.blobs.copy(source, target), self.loop)


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
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        notifier: JobNotifier,
        on_outbox: OutboxHandoff,
        *,
        publish_events: bool = False,
    ) -> None:
        """`publish_events`: events also go to the outbox for the event bus (aws profile)."""
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.notifier = notifier
        self.eta = eta.EtaModel()
        self._on_outbox = on_outbox
        self._publish_events = publish_events

    # ------------------------------------------------------------------ transactions

    async def _write(self, fn: Callable[[_Scope], T]) -> T:
        """Run fn in a write transaction; the JobTx it puts in `scope.tx` is flushed before commit.

        After the commit, watchers of the job are woken and the outbox rows go to the relay.
        """
        loop = asyncio.get_running_loop()
        scopes: list[_Scope] = []

        def body(conn: Connection) -> T:
            scope = _Scope(conn, time.time(), loop, self.db, self.blobs)
            scopes.append(scope)
            result = fn(scope)
            if scope.tx is not None:
                scope.tx.flush()
            return result

        result = await self.db.write(body)
        tx = scopes[0].tx
        if tx is not None:
            if tx.events:
                self.notifier.notify(tx.job["id"])
            if tx.outbox_rows:
                self._on_outbox(tx.outbox_rows)
        return result

    def _job(self, scope: _Scope, job_id: str, principal: Principal | None = None) -> JobTx:
        tx = JobTx.for_job(
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
            await library.require_asset(self.db, principal, resolved.asset_id)
        attachments = await self._store_attachments(principal, resolved)
        try:
            job = await self._write(
                lambda scope: self._new_job(scope, principal, resolved, pipeline, gates, key, attachments)
            )
        except IntegrityError:
            existing = await self._job_by_idempotency_key(principal, key) if key else None
            if existing is None:
                raise
            return orchestrator_pb2.CreateJobResponse(
                job=await self.get_job(principal, existing), created=False
            )
        return orchestrator_pb2.CreateJobResponse(job=job, created=True)

    async def _store_attachments(self, principal: Principal, job_input: job_pb2.JobInput) -> list[Dict]:
        """Files inside the input (a BVH) go to the blob store; steps get them as input artifacts."""
        if not job_input.animation.bvh:
            return []
        blob = await put_content(
            self.blobs, principal.tenant_id, job_input.animation.bvh, "application/x-bvh"
        )
        job_input.animation.ClearField("bvh")
        return [
            {
                "name": "bvh",
                "media_type": blob.media_type,
                "sha256": blob.sha256,
                "size_bytes": blob.size_bytes,
                "blob_key": blob.key,
                "preview_key": "",
            }
        ]

    async def _job_by_idempotency_key(self, principal: Principal, key: str) -> str | None:
        params = {"tenant_id": principal.tenant_id, "key": key}
        return await self.db.read(lambda conn: conn.execute(JOB_BY_IDEMPOTENCY_KEY, params).scalar())

    def _check_quota(self, conn: Connection, principal: Principal) -> None:
        """In the creating transaction, so concurrent creates cannot both slip under the limit."""
        active = conn.execute(ACTIVE_JOBS, {"tenant_id": principal.tenant_id}).scalar_one()
        today = conn.execute(
            JOBS_SINCE, {"tenant_id": principal.tenant_id, "since": time.time() - 86400}
        ).scalar_one()
        if active >= self.settings.max_active_jobs_per_tenant:
            limit = self.settings.max_active_jobs_per_tenant
            raise ResourceExhausted(f"{active} jobs are active; the limit is {limit}")
        if today >= self.settings.max_jobs_per_tenant_per_day:
            raise ResourceExhausted(f"daily job limit of {self.settings.max_jobs_per_tenant_per_day} reached")

    def _new_job(
        self,
        scope: _Scope,
        principal: Principal,
        job_input: job_pb2.JobInput,
        pipeline: Pipeline,
        gates: list[str],
        idempotency_key: str,
        attachments: list[Dict],
    ) -> job_pb2.Job:
        """Insert the job and its steps, queue the first, and answer from what was written."""
        self._check_quota(scope.conn, principal)
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
            "created_at": scope.now,
            "updated_at": scope.now,
            "started_at": None,
            "finished_at": None,
            "error_code": None,
            "error_message": None,
            "cost_usd": 0.0,
            "asset_id": job_input.asset_id or new_id("ast"),
            "asset_version": None,
            "attachments": json.dumps(attachments) if attachments else None,
        }
        step_rows = [
            _new_step(job, spec.name, i, spec.depends_on, job_input, spec.name in gates, self.settings)
            for i, spec in enumerate(pipeline.steps)
        ]
        tx = JobTx(scope.conn, job, scope.now, publish_events=self._publish_events, new=True)
        scope.tx = tx
        tx.add_steps(step_rows)
        self._advance(scope, step_rows, [])
        queue = {
            e.step_id: job_pb2.QueueInfo(position=e.queued.position, eta_seconds=e.queued.eta_seconds)
            for e in tx.events
            if e.WhichOneof("kind") == "queued"
        }
        return convert.job(job, step_rows, [], queue=queue, eta_seconds=self.eta.remaining(step_rows, queue))

    async def get_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")

        def load(conn: Connection) -> job_pb2.Job:
            row = conn.execute(self._owned_jobs(principal).where(jobs.c.id == job_id)).mappings().first()
            if row is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
            step_rows = _steps_of(conn, [job_id])
            transitions = (
                conn.execute(
                    select(job_transitions)
                    .where(job_transitions.c.job_id == job_id)
                    .order_by(job_transitions.c.id)
                )
                .mappings()
                .all()
            )
            queue = self.eta.queue_info(conn, step_rows)
            return convert.job(
                row,
                step_rows,
                _artifacts_of(conn, [job_id]),
                queue=queue,
                transitions=transitions,
                eta_seconds=self.eta.remaining(step_rows, queue),
            )

        return await self.db.read(load)

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

        def load(conn: Connection) -> orchestrator_pb2.ListJobsResponse:
            rows = conn.execute(query).mappings().all()
            page, more = rows[:size], len(rows) > size
            ids = [r["id"] for r in page]
            step_rows = _steps_of(conn, ids)
            art_rows = _artifacts_of(conn, ids)
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

        return await self.db.read(load)

    async def cancel_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")

        def cancel(scope: _Scope) -> None:
            tx = self._job(scope, job_id, principal)
            if tx.state in JOB_TERMINAL:
                raise FailedPrecondition(f"job {job_id} already {tx.state}", field="job_id")
            for step in _steps_of(tx.conn, [job_id]):
                if step["state"] not in STEP_DONE:
                    tx.set_step(step, CANCELLED, cancel_requested=True, finished_at=tx.now)
            tx.set_job(CANCELLED, finished_at=tx.now)
            tx.emit(
                finished=events_pb2.JobFinished(
                    state=job_pb2.JOB_STATE_CANCELLED, cost_usd=tx.job["cost_usd"]
                )
            )

        await self._write(cancel)
        return await self.get_job(principal, job_id)

    async def retry_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        _require_id("job", job_id, "job_id")

        def retry(scope: _Scope) -> None:
            tx = self._job(scope, job_id, principal)
            if tx.state not in (FAILED, CANCELLED):
                raise FailedPrecondition(f"only failed or cancelled jobs can be retried; job is {tx.state}")
            step_rows = _steps_of(tx.conn, [job_id])
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
            self._advance(scope, step_rows, _artifacts_of(tx.conn, [job_id]))

        await self._write(retry)
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

        def review(scope: _Scope) -> None:
            tx = self._job(scope, request.job_id, principal)
            step_rows = _steps_of(tx.conn, [request.job_id])
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
            self._advance(scope, step_rows, _artifacts_of(tx.conn, [request.job_id]))

        await self._write(review)
        return await self.get_job(principal, request.job_id)

    async def watch_job(
        self, principal: Principal, job_id: str, after_sequence: int = 0
    ) -> AsyncIterator[events_pb2.JobEvent]:
        """The job's events after `after_sequence`, live, ending after the job's final event."""
        _require_id("job", job_id, "job_id")
        owned = self._owned_jobs(principal).where(jobs.c.id == job_id)
        if await self.db.read(lambda conn: conn.execute(owned).first()) is None:
            raise NotFound(f"job {job_id} not found", field="job_id")

        def events_after(conn: Connection, last: int) -> tuple[list[Any], str | None]:
            rows = conn.execute(EVENTS_AFTER, {"job_id": job_id, "after": last}).all()
            return rows, conn.execute(JOB_STATE, {"job_id": job_id}).scalar()

        last = after_sequence
        with self.notifier.subscribe(job_id) as woken:
            while True:
                woken.clear()
                rows, state = await self.db.read(partial(events_after, last=last))
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
        if not is_valid_id("stp", request.step_id):
            return orchestrator_pb2.StartStepResponse(
                directive=orchestrator_pb2.START_DIRECTIVE_SKIP, reason="malformed step id"
            )
        return await self._write(lambda scope: self._start_step(scope, request))

    def _start_step(
        self, scope: _Scope, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        skip = orchestrator_pb2.START_DIRECTIVE_SKIP
        found = JobTx.for_step(scope.conn, request.step_id, scope.now, publish_events=self._publish_events)
        if found is None:
            return orchestrator_pb2.StartStepResponse(directive=skip, reason="unknown step")
        tx, step = found
        if request.generation != step["generation"]:
            return orchestrator_pb2.StartStepResponse(directive=skip, reason="superseded generation")
        if tx.state in JOB_TERMINAL or step["state"] not in (QUEUED, RUNNING):
            return orchestrator_pb2.StartStepResponse(directive=skip, reason=f"step is {step['state']}")
        scope.tx = tx
        if step["state"] == RUNNING:  # redelivered: the attempt in progress belongs to a dead worker
            tx.conn.execute(SUPERSEDE_ATTEMPTS, {"b_step": step["id"], "b_now": tx.now})
        if step["attempt"] >= step["max_attempts"]:
            message = f"the step's worker stopped {step['attempt']} times without finishing"
            self._fail_job(tx, step, WORKER_LOST, message)
            return orchestrator_pb2.StartStepResponse(
                directive=orchestrator_pb2.START_DIRECTIVE_DEAD_LETTER, reason=message
            )
        attempt_id, number = new_id("att"), step["attempt"] + 1
        tx.conn.execute(
            INSERT_ATTEMPT,
            {
                "id": attempt_id,
                "step_id": step["id"],
                "generation": step["generation"],
                "number": number,
                "worker_id": request.worker_id[:200],
                "delivery_count": request.delivery_count,
                "state": RUNNING,
                "started_at": tx.now,
            },
        )
        tx.set_step(step, RUNNING, attempt=number, started_at=step["started_at"] or tx.now)
        if tx.state == QUEUED:
            tx.set_job(RUNNING, started_at=tx.job["started_at"] or tx.now)
        tx.emit(step, started=events_pb2.StepStarted(attempt=number, worker_id=request.worker_id))
        return orchestrator_pb2.StartStepResponse(
            directive=orchestrator_pb2.START_DIRECTIVE_RUN, attempt_id=attempt_id, attempt=number
        )

    def _attempt(self, scope: _Scope, attempt_id: str) -> tuple[JobTx, Dict, Dict] | None:
        return JobTx.for_attempt(scope.conn, attempt_id, scope.now, publish_events=self._publish_events)

    @staticmethod
    def _check_attempt_id(attempt_id: str) -> None:
        if not is_valid_id("att", attempt_id):
            raise InvalidArgument(f"malformed attempt id {attempt_id!r}", field="attempt_id")

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        self._check_attempt_id(request.attempt_id)

        def report(scope: _Scope) -> orchestrator_pb2.ReportProgressResponse:
            found = self._attempt(scope, request.attempt_id)
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

        return await self._write(report)

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        self._check_attempt_id(request.attempt_id)
        return await self._write(lambda scope: self._complete_step(scope, request))

    def _complete_step(
        self, scope: _Scope, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        found = self._attempt(scope, request.attempt_id)
        if found is None:
            raise NotFound(f"attempt {request.attempt_id} not found", field="attempt_id")
        tx, step, attempt = found
        if not dag.attempt_may_complete(tx.state, step, attempt):
            return orchestrator_pb2.CompleteStepResponse(accepted=False)
        scope.tx = tx
        self._record_result(tx, step, attempt, request)
        step_rows = [step if s["id"] == step["id"] else s for s in _steps_of(tx.conn, [tx.job["id"]])]
        if step["review_gate"]:
            tx.set_step(step, AWAITING_REVIEW)
            tx.emit(step, review_needed=events_pb2.ReviewNeeded(outputs=request.outputs))
            if not any(s["state"] in (QUEUED, RUNNING) for s in step_rows):
                tx.set_job(AWAITING_REVIEW)
        else:
            tx.set_step(step, SUCCEEDED)
            self._advance(scope, step_rows, _artifacts_of(tx.conn, [tx.job["id"]]))
        return orchestrator_pb2.CompleteStepResponse(accepted=True)

    def _record_result(
        self, tx: JobTx, step: Dict, attempt: Dict, request: orchestrator_pb2.CompleteStepRequest
    ) -> None:
        pool = request.pool if request.pool in ("gpu", "cpu") else "cpu"
        duration = 0.0 if request.cache_hit else max(0.0, request.duration_seconds)
        cost = duration * self.settings.prices.per_second(pool)
        tx.conn.execute(UPDATE_ATTEMPT, {"b_id": attempt["id"], "state": SUCCEEDED, "finished_at": tx.now})
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
            tx.conn.execute(INSERT_ARTIFACTS, rows)
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
            self.eta.observe(tx.conn, step["name"], duration, tx.now)

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        self._check_attempt_id(request.attempt_id)
        code = request.error.code[:60] or "INTERNAL"
        message = request.error.message[:2000]

        def fail(scope: _Scope) -> orchestrator_pb2.FailStepResponse:
            found = self._attempt(scope, request.attempt_id)
            if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
                return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DISCARD)
            tx, step, attempt = found
            scope.tx = tx
            tx.conn.execute(
                UPDATE_ATTEMPT,
                {
                    "b_id": attempt["id"],
                    "state": FAILED,
                    "finished_at": tx.now,
                    "error_code": code,
                    "error_message": message,
                },
            )
            if request.retryable and step["attempt"] < step["max_attempts"]:
                delay = dag.backoff(self.settings.retry_policy(step["name"]), step["attempt"])
                tx.set_step(step, QUEUED, queued_at=tx.now, error_code=code, error_message=message)
                error = job_pb2.Error(code=code, message=message)
                retrying = events_pb2.StepRetrying(attempt=step["attempt"], delay_seconds=delay, error=error)
                tx.emit(step, retrying=retrying)
                return orchestrator_pb2.FailStepResponse(
                    action=orchestrator_pb2.FAIL_ACTION_RETRY, delay_seconds=delay
                )
            self._fail_job(tx, step, code, message)
            return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DEAD_LETTER)

        return await self._write(fail)

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        """A worker released the step (shutdown): it does not count as an attempt."""
        self._check_attempt_id(request.attempt_id)

        def abandon(scope: _Scope) -> None:
            found = self._attempt(scope, request.attempt_id)
            if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
                return
            tx, step, attempt = found
            scope.tx = tx
            tx.conn.execute(
                UPDATE_ATTEMPT,
                {
                    "b_id": attempt["id"],
                    "state": "abandoned",
                    "finished_at": tx.now,
                    "error_message": request.reason[:200],
                },
            )
            tx.set_step(step, QUEUED, attempt=step["attempt"] - 1, queued_at=tx.now)

        await self._write(abandon)

    def _fail_job(self, tx: JobTx, step: Dict, code: str, message: str) -> None:
        tx.set_step(step, FAILED, finished_at=tx.now, error_code=code, error_message=message)
        for other in _steps_of(tx.conn, [tx.job["id"]]):
            if other["id"] != step["id"] and other["state"] not in STEP_DONE:
                tx.set_step(other, CANCELLED, cancel_requested=True)
        tx.set_job(FAILED, finished_at=tx.now, error_code=code, error_message=message)
        error = job_pb2.Error(code=code, message=f"{step['name']}: {message}")
        tx.emit(step, failed=events_pb2.JobFailed(error=error))
        tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_FAILED, cost_usd=tx.job["cost_usd"]))

    # ------------------------------------------------------------------ the DAG

    def _advance(self, scope: _Scope, step_rows: list[Dict], art_rows: Sequence[Dict]) -> None:
        """Queue every pending step whose parents succeeded; finish the job when all did."""
        tx = scope.tx
        assert tx is not None
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
            position = eta.queue_position(tx.conn, step)
            eta_s = self.eta.step_eta(tx.conn, step["name"], position)
            tx.emit(step, queued=events_pb2.StepQueued(position=position, eta_seconds=eta_s))
        if all(s["state"] == SUCCEEDED for s in step_rows):
            version, files = library.publish_version(
                tx.conn, scope.copy_blob, tx.job, job_input, step_rows, art_rows, pipeline, tx.now
            )
            tx.set_job(SUCCEEDED, finished_at=tx.now, asset_version=version)
            finished = events_pb2.JobFinished(
                state=job_pb2.JOB_STATE_SUCCEEDED,
                asset_id=tx.job["asset_id"],
                asset_version=version,
                artifacts=files,
                cost_usd=tx.job["cost_usd"],
            )
            tx.emit(finished=finished)
        elif tx.state == AWAITING_REVIEW and not any(s["state"] == AWAITING_REVIEW for s in step_rows):
            tx.set_job(RUNNING if any(s["state"] == RUNNING for s in step_rows) else QUEUED)


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


def _steps_of(conn: Connection, job_ids: list[str]) -> list[Dict]:
    return [dict(r) for r in conn.execute(STEPS_OF, {"job_ids": job_ids}).mappings()] if job_ids else []


def _artifacts_of(conn: Connection, job_ids: list[str]) -> list[Dict]:
    return [dict(r) for r in conn.execute(ARTIFACTS_OF, {"job_ids": job_ids}).mappings()] if job_ids else []
