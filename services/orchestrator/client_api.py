"""The client calls: create, get, list, cancel, retry and review jobs, and watch their events.

Every call is scoped to the caller's tenant and project: another project's job is "not
found". Input is validated (and the safety policy and quotas applied) before anything is
written; a change is one transaction on the job (writer.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from assetcore.blobs.base import BlobStore, put_content
from assetcore.config import Settings
from assetcore.db.database import Database
from assetcore.db.schema import jobs
from assetcore.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, excerpt
from assetcore.events.notifier import JobNotifier, wait_for_event
from assetcore.ids import is_valid_id, new_id
from assetcore.proto.v1 import events_pb2, job_pb2, orchestrator_pb2
from assetcore.safety.tenants import PolicyBook
from assetcore.steps.catalog import Catalog
from assetcore.steps.pipeline import Pipeline
from assetcore.telemetry import tracing
from services.orchestrator import convert, dag, library, store
from services.orchestrator.advance import Advance
from services.orchestrator.eta import EtaModel
from services.orchestrator.jobtx import JobTx
from services.orchestrator.offers import OfferBook
from services.orchestrator.paging import MAX_PAGE, decode_token, encode_token
from services.orchestrator.principal import Principal
from services.orchestrator.rows import Attachment, JobRow, StepRow, values
from services.orchestrator.states import (
    AWAITING_REVIEW,
    CANCELLED,
    FAILED,
    JOB_STATE_NAME,
    JOB_TERMINAL,
    PENDING,
    QUEUED,
    STEP_DONE,
    SUCCEEDED,
)
from services.orchestrator.validation import check_prompt, check_safety, resolve_input
from services.orchestrator.writer import JobWriter, Scope

REVIEW_DECISIONS = (orchestrator_pb2.REVIEW_DECISION_APPROVE, orchestrator_pb2.REVIEW_DECISION_REJECT)


def require_id(prefix: str, value: str, field_name: str) -> None:
    if not is_valid_id(prefix, value):
        raise InvalidArgument(f"malformed id {excerpt(value)!r}", field=field_name)


class ClientApi:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        notifier: JobNotifier,
        eta_model: EtaModel,
        writer: JobWriter,
        catalog: Catalog,
        advance: Advance,
        offers: OfferBook,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.notifier = notifier
        self.eta = eta_model
        self.writer = writer
        self.catalog = catalog
        self.advance = advance
        self.offers = offers
        self.policies = PolicyBook(settings.safety, settings.blocked_terms)

    # -- create -------------------------------------------------------------------------------

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
        check_prompt(request.input)  # its shape first: lengths and required parts are typed errors
        check_safety(request.input, self.policies.for_tenant(principal.tenant_id))  # before the subject
        resolved, pipeline, gates = resolve_input(
            request.input, self.catalog, self.settings.backends, await self.offers.current()
        )
        if resolved.asset_id:
            await library.require_asset(self.db, principal, resolved.asset_id)
        attachments = await self._store_attachments(principal, resolved)
        trace_parent = tracing.job_trace_parent()  # here, in the call's span: the write runs in a thread
        try:
            job = await self.writer.write(
                lambda scope: self._new_job(
                    scope, principal, resolved, pipeline, gates, key, attachments, trace_parent
                )
            )
        except IntegrityError:
            existing = await self._job_by_idempotency_key(principal, key) if key else None
            if existing is None:
                raise
            return orchestrator_pb2.CreateJobResponse(
                job=await self.get_job(principal, existing), created=False
            )
        return orchestrator_pb2.CreateJobResponse(job=job, created=True)

    async def _store_attachments(self, principal: Principal, job_input: job_pb2.JobInput) -> list[Attachment]:
        """Files inside the input (a BVH) go to the blob store; steps get them as input artifacts."""
        if not job_input.animation.bvh:
            return []
        blob = await put_content(
            self.blobs, principal.tenant_id, job_input.animation.bvh, "application/x-bvh"
        )
        job_input.animation.ClearField("bvh")
        return [Attachment("bvh", blob.media_type, blob.sha256, blob.size_bytes, blob.key, "")]

    async def _job_by_idempotency_key(self, principal: Principal, key: str) -> str | None:
        return await self.db.read(
            lambda conn: store.job_by_idempotency_key(conn, principal.tenant_id, principal.project_id, key)
        )

    def _check_quota(self, conn: Connection, principal: Principal) -> None:
        """In the creating transaction, so concurrent creates cannot both slip under the limit."""
        active = store.active_jobs(conn, principal.tenant_id)
        if active >= self.settings.max_active_jobs_per_tenant:
            limit = self.settings.max_active_jobs_per_tenant
            raise ResourceExhausted(f"{active} jobs are active; the limit is {limit}")
        if (
            store.jobs_since(conn, principal.tenant_id, time.time() - 86400)
            >= self.settings.max_jobs_per_tenant_per_day
        ):
            raise ResourceExhausted(f"daily job limit of {self.settings.max_jobs_per_tenant_per_day} reached")

    def _new_job(
        self,
        scope: Scope,
        principal: Principal,
        job_input: job_pb2.JobInput,
        pipeline: Pipeline,
        gates: list[str],
        idempotency_key: str,
        attachments: list[Attachment],
        trace_parent: str | None,
    ) -> job_pb2.Job:
        """Insert the job and its steps, queue the first, and answer from what was written."""
        self._check_quota(scope.conn, principal)
        job = JobRow(
            id=new_id("job"),
            tenant_id=principal.tenant_id,
            project_id=principal.project_id,
            pipeline=pipeline.name,
            state=QUEUED,
            input=job_input.SerializeToString(),
            idempotency_key=idempotency_key or None,
            priority=int(job_input.priority),
            event_seq=0,
            created_at=scope.now,
            updated_at=scope.now,
            started_at=None,
            finished_at=None,
            error_code=None,
            error_message=None,
            cost_usd=0.0,
            asset_id=job_input.asset_id or new_id("ast"),
            asset_version=None,
            attachments=_dumps_attachments(attachments),
            trace_parent=trace_parent,
        )
        step_rows = [
            dag.new_step(
                job,
                spec.name,
                i,
                spec.depends_on,
                job_input.seed,
                self.settings.retry_policy(spec.name).max_attempts,
                spec.name in gates,
            )
            for i, spec in enumerate(pipeline.steps)
        ]
        tx = scope.new_job(job)
        tx.add_steps(step_rows)
        self.advance(tx, step_rows, [])
        queue = {
            e.step_id: job_pb2.QueueInfo(position=e.queued.position, eta_seconds=e.queued.eta_seconds)
            for e in tx.events
            if e.WhichOneof("kind") == "queued"
        }
        return convert.job(job, step_rows, [], queue=queue, eta_seconds=self.eta.remaining(step_rows, queue))

    # -- read ---------------------------------------------------------------------------------

    async def get_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        require_id("job", job_id, "job_id")

        def load(conn: Connection) -> job_pb2.Job:
            job = store.owned_job(conn, principal.tenant_id, principal.project_id, job_id)
            if job is None:
                raise NotFound(f"job {job_id} not found", field="job_id")
            step_rows = store.steps_of(conn, [job_id])
            queue = self.eta.queue_info(conn, step_rows)
            return convert.job(
                job,
                step_rows,
                store.artifacts_of(conn, [job_id]),
                queue=queue,
                transitions=store.transitions_of(conn, job_id),
                eta_seconds=self.eta.remaining(step_rows, queue),
            )

        return await self.db.read(load)

    async def list_jobs(
        self, principal: Principal, request: orchestrator_pb2.ListJobsRequest
    ) -> orchestrator_pb2.ListJobsResponse:
        size = min(request.page_size or 20, MAX_PAGE)
        query = (
            store.owned_jobs(principal.tenant_id, principal.project_id)
            .order_by(jobs.c.id.desc())
            .limit(size + 1)
        )
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
            if request.pipeline not in self.catalog.pipelines:
                raise InvalidArgument(f"unknown pipeline {excerpt(request.pipeline)!r}", field="pipeline")
            query = query.where(jobs.c.pipeline == request.pipeline)
        if request.HasField("created_after"):
            query = query.where(jobs.c.created_at >= request.created_after.ToNanoseconds() / 1e9)
        if request.HasField("created_before"):
            query = query.where(jobs.c.created_at < request.created_before.ToNanoseconds() / 1e9)

        def load(conn: Connection) -> orchestrator_pb2.ListJobsResponse:
            rows = [store.job_from(r) for r in conn.execute(query)]
            page, more = rows[:size], len(rows) > size
            ids = [j.id for j in page]
            step_rows = store.steps_of(conn, ids)
            art_rows = store.artifacts_of(conn, ids)
            return orchestrator_pb2.ListJobsResponse(
                jobs=[
                    convert.job(
                        j,
                        [s for s in step_rows if s.job_id == j.id],
                        [a for a in art_rows if a.job_id == j.id],
                    )
                    for j in page
                ],
                next_page_token=encode_token(page[-1].id) if more else "",
            )

        return await self.db.read(load)

    async def watch_job(
        self, principal: Principal, job_id: str, after_sequence: int = 0
    ) -> AsyncIterator[events_pb2.JobEvent]:
        """The job's events after `after_sequence`, live, ending after the job's final event."""
        require_id("job", job_id, "job_id")
        owned = partial(store.owned_job, tenant_id=principal.tenant_id, project_id=principal.project_id)
        if await self.db.read(lambda conn: owned(conn, job_id=job_id)) is None:
            raise NotFound(f"job {job_id} not found", field="job_id")
        last = after_sequence
        with self.notifier.subscribe(job_id) as woken:
            while True:
                woken.clear()
                rows, state = await self.db.read(partial(store.events_after, job_id=job_id, after=last))
                for seq, payload in rows:
                    last = seq
                    yield events_pb2.JobEvent.FromString(payload)
                if not rows:
                    if state in JOB_TERMINAL:
                        return
                    await wait_for_event(woken, 1.0)

    # -- change -------------------------------------------------------------------------------

    def _job(self, scope: Scope, principal: Principal, job_id: str) -> JobTx:
        tx = scope.job(job_id, principal.tenant_id)
        if tx is None or tx.job.project_id != principal.project_id:
            raise NotFound(f"job {job_id} not found", field="job_id")
        return tx

    async def cancel_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        require_id("job", job_id, "job_id")

        def cancel(scope: Scope) -> None:
            tx = self._job(scope, principal, job_id)
            if tx.state in JOB_TERMINAL:
                raise FailedPrecondition(f"job {job_id} already {tx.state}", field="job_id")
            for step in store.steps_of(tx.conn, [job_id]):
                if step.state not in STEP_DONE:
                    tx.set_step(step, CANCELLED, cancel_requested=True, finished_at=tx.now)
            tx.set_job(CANCELLED, finished_at=tx.now)
            tx.emit(
                finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_CANCELLED, cost_usd=tx.job.cost_usd)
            )

        await self.writer.write(cancel)
        return await self.get_job(principal, job_id)

    async def retry_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        require_id("job", job_id, "job_id")

        def retry(scope: Scope) -> None:
            tx = self._job(scope, principal, job_id)
            if tx.state not in (FAILED, CANCELLED):
                raise FailedPrecondition(f"only failed or cancelled jobs can be retried; job is {tx.state}")
            step_rows = store.steps_of(tx.conn, [job_id])
            for step in step_rows:
                if step.state in (FAILED, CANCELLED):
                    tx.set_step(
                        step,
                        PENDING,
                        generation=step.generation + 1,
                        attempt=0,
                        error_code=None,
                        error_message=None,
                        cancel_requested=False,
                        progress=0.0,
                        finished_at=None,
                    )
            tx.set_job(QUEUED, finished_at=None, error_code=None, error_message=None)
            self.advance(tx, step_rows, store.artifacts_of(tx.conn, [job_id]))

        await self.writer.write(retry)
        return await self.get_job(principal, job_id)

    async def review_step(
        self, principal: Principal, request: orchestrator_pb2.ReviewStepRequest
    ) -> job_pb2.Job:
        require_id("job", request.job_id, "job_id")
        if request.decision not in REVIEW_DECISIONS:
            raise InvalidArgument("decision must be APPROVE or REJECT", field="decision")
        if len(request.notes) > 4096:
            raise InvalidArgument("longer than 4096 bytes", field="notes")
        if request.choice and request.decision != orchestrator_pb2.REVIEW_DECISION_APPROVE:
            raise InvalidArgument("a choice comes with APPROVE only", field="choice")

        def review(scope: Scope) -> None:
            tx = self._job(scope, principal, request.job_id)
            step_rows = store.steps_of(tx.conn, [request.job_id])
            step = next((s for s in step_rows if request.step in (s.name, s.id)), None)
            if step is None:
                raise NotFound(f"no step {excerpt(request.step)!r} in job {request.job_id}", field="step")
            if step.state != AWAITING_REVIEW:
                raise FailedPrecondition(
                    f"step {step.name} is {step.state}, not awaiting review", field="step"
                )
            if request.decision == orchestrator_pb2.REVIEW_DECISION_APPROVE:
                if request.choice:
                    self._choose(tx.conn, step, request.choice)
                tx.set_step(step, SUCCEEDED, review_notes=request.notes)
            else:
                generation = step.generation + 1
                tx.set_step(
                    step,
                    PENDING,
                    generation=generation,
                    attempt=0,
                    seed=dag.reseed(step.seed, generation),
                    review_notes=request.notes,
                    progress=0.0,
                    finished_at=None,
                    cache_hit=False,
                )
            self.advance(tx, step_rows, store.artifacts_of(tx.conn, [request.job_id]))

        await self.writer.write(review)
        return await self.get_job(principal, request.job_id)

    def _choose(self, conn: Connection, step: StepRow, choice: str) -> None:
        """Point the step's chosen output at the candidate's file (ReviewStep's choice)."""
        chosen = self.catalog.steps[step.name].candidates_for if step.name in self.catalog.steps else None
        if chosen is None:
            raise FailedPrecondition(f"step {step.name} offers no candidates to choose from", field="choice")
        outputs = {
            a.name: a
            for a in store.artifacts_of(conn, [step.job_id])
            if a.step_id == step.id and a.generation == step.generation
        }
        candidates = sorted(n for n in outputs if n.startswith("candidate_"))
        if choice not in candidates:
            raise InvalidArgument(
                f"no output {excerpt(choice)!r} (choose among: {', '.join(candidates) or 'none'})",
                field="choice",
            )
        picked = outputs[choice]
        conn.execute(
            store.REPOINT_ARTIFACT,
            {
                "b_step": step.id,
                "b_generation": step.generation,
                "b_name": chosen,
                "b_media_type": picked.media_type,
                "b_sha256": picked.sha256,
                "b_size_bytes": picked.size_bytes,
                "b_blob_key": picked.blob_key,
                "b_preview_key": picked.preview_key,
            },
        )


def _dumps_attachments(attachments: list[Attachment]) -> str | None:
    return json.dumps([values(a) for a in attachments]) if attachments else None
