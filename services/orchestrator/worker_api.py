"""The worker calls: start, progress, complete, fail and abandon a step attempt.

All are idempotent: a duplicate delivery, a redelivery after a crash or a late result from a
superseded attempt never changes a result already recorded. Each is one transaction on the
job (writer.py), which locks the job row with the step and attempt in one statement.
"""

from __future__ import annotations

import json
from typing import Any

from assetcore.config import Settings
from assetcore.errors import InvalidArgument, NotFound, excerpt
from assetcore.ids import is_valid_id, new_id
from assetcore.proto.v1 import events_pb2, job_pb2, orchestrator_pb2
from services.orchestrator import convert, dag, store
from services.orchestrator.advance import Advance, fail_job
from services.orchestrator.eta import EtaModel
from services.orchestrator.jobtx import JobTx
from services.orchestrator.rows import AttemptRow, StepRow
from services.orchestrator.states import (
    ABANDONED,
    AWAITING_REVIEW,
    FAILED,
    JOB_TERMINAL,
    QUEUED,
    RUNNING,
    SUCCEEDED,
)
from services.orchestrator.writer import JobWriter, Scope

WORKER_LOST = "WORKER_LOST"
_SKIP = orchestrator_pb2.START_DIRECTIVE_SKIP


def _check_attempt_id(attempt_id: str) -> None:
    if not is_valid_id("att", attempt_id):
        raise InvalidArgument(f"malformed attempt id {excerpt(attempt_id)!r}", field="attempt_id")


def _live(scope: Scope, attempt_id: str) -> tuple[JobTx, StepRow, AttemptRow] | None:
    """The attempt with its step and job (locked), if it may still report, fail or be abandoned."""
    found = scope.attempt(attempt_id)
    if found is None or not dag.attempt_is_live(found[0].state, found[1], found[2]):
        return None
    return found


class WorkerApi:
    def __init__(self, settings: Settings, eta_model: EtaModel, writer: JobWriter, advance: Advance) -> None:
        self.settings = settings
        self.eta = eta_model
        self.writer = writer
        self.advance = advance

    async def start_step(
        self, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        if not is_valid_id("stp", request.step_id):
            return orchestrator_pb2.StartStepResponse(directive=_SKIP, reason="malformed step id")
        return await self.writer.write(lambda scope: self._start_step(scope, request))

    def _start_step(
        self, scope: Scope, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        found = scope.step(request.step_id)
        if found is None:
            return orchestrator_pb2.StartStepResponse(directive=_SKIP, reason="unknown step")
        tx, step = found
        if request.generation != step.generation:
            return orchestrator_pb2.StartStepResponse(directive=_SKIP, reason="superseded generation")
        if tx.state in JOB_TERMINAL or step.state not in (QUEUED, RUNNING):
            return orchestrator_pb2.StartStepResponse(directive=_SKIP, reason=f"step is {step.state}")
        if step.state == RUNNING:  # redelivered: the attempt in progress belongs to a dead worker
            tx.conn.execute(store.SUPERSEDE_ATTEMPTS, {"b_step": step.id, "b_now": tx.now})
        if step.attempt >= step.max_attempts:
            message = f"the step's worker stopped {step.attempt} times without finishing"
            fail_job(tx, step, WORKER_LOST, message)
            return orchestrator_pb2.StartStepResponse(
                directive=orchestrator_pb2.START_DIRECTIVE_DEAD_LETTER, reason=message
            )
        attempt_id, number = new_id("att"), step.attempt + 1
        tx.conn.execute(
            store.INSERT_ATTEMPT,
            {
                "id": attempt_id,
                "step_id": step.id,
                "generation": step.generation,
                "number": number,
                "worker_id": request.worker_id[:200],
                "delivery_count": request.delivery_count,
                "state": RUNNING,
                "started_at": tx.now,
            },
        )
        tx.set_step(step, RUNNING, attempt=number, started_at=step.started_at or tx.now)
        if tx.state == QUEUED:
            tx.set_job(RUNNING, started_at=tx.job.started_at or tx.now)
        tx.emit(step, started=events_pb2.StepStarted(attempt=number, worker_id=request.worker_id))
        return orchestrator_pb2.StartStepResponse(
            directive=orchestrator_pb2.START_DIRECTIVE_RUN, attempt_id=attempt_id, attempt=number
        )

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        _check_attempt_id(request.attempt_id)

        def report(scope: Scope) -> orchestrator_pb2.ReportProgressResponse:
            found = _live(scope, request.attempt_id)
            if found is None:
                return orchestrator_pb2.ReportProgressResponse(cancel_requested=True)
            tx, step, _ = found
            fraction = min(max(float(request.fraction), 0.0), 1.0)
            message = request.message[:500]
            tx.set_step(step, progress=fraction, progress_message=message, progress_at=tx.now)
            tx.emit(step, progress=events_pb2.StepProgress(fraction=fraction, message=message))
            if request.HasField("preview"):
                tx.set_step(step, **_preview_fields(request.preview))
                tx.emit(step, preview=events_pb2.StepPreview(preview=request.preview))
            return orchestrator_pb2.ReportProgressResponse(cancel_requested=False)

        return await self.writer.write(report)

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        _check_attempt_id(request.attempt_id)
        return await self.writer.write(lambda scope: self._complete_step(scope, request))

    def _complete_step(
        self, scope: Scope, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        found = scope.attempt(request.attempt_id)
        if found is None:
            raise NotFound(f"attempt {request.attempt_id} not found", field="attempt_id")
        tx, step, attempt = found
        if not dag.attempt_may_complete(tx.state, step, attempt):
            return orchestrator_pb2.CompleteStepResponse(accepted=False)
        duration = self._record_result(tx, step, attempt, request)
        step_rows = [step if s.id == step.id else s for s in store.steps_of(tx.conn, [tx.job.id])]
        if step.review_gate:
            tx.set_step(step, AWAITING_REVIEW)
            tx.emit(step, review_needed=events_pb2.ReviewNeeded(outputs=request.outputs))
            if not any(s.state in (QUEUED, RUNNING) for s in step_rows):
                tx.set_job(AWAITING_REVIEW)
        else:
            tx.set_step(step, SUCCEEDED)
            self.advance(tx, step_rows, store.artifacts_of(tx.conn, [tx.job.id]))
        if not request.cache_hit:  # last: advance may roll this transaction back to publish first
            self.eta.observe(tx.conn, step.name, duration, tx.now)
        return orchestrator_pb2.CompleteStepResponse(accepted=True)

    def _record_result(
        self, tx: JobTx, step: StepRow, attempt: AttemptRow, request: orchestrator_pb2.CompleteStepRequest
    ) -> float:
        """The attempt's outputs, cost and timings; returns the duration."""
        pool = request.pool if request.pool in ("gpu", "cpu") else "cpu"
        duration = 0.0 if request.cache_hit else max(0.0, request.duration_seconds)
        cost = duration * self.settings.prices.per_second(pool)
        tx.conn.execute(store.UPDATE_ATTEMPT, {"b_id": attempt.id, "state": SUCCEEDED, "finished_at": tx.now})
        if request.outputs:
            common = {
                "tenant_id": tx.job.tenant_id,
                "job_id": tx.job.id,
                "step_id": step.id,
                "generation": step.generation,
                "created_at": tx.now,
            }
            tx.conn.execute(
                store.INSERT_ARTIFACTS, [{**convert.artifact_values(a), **common} for a in request.outputs]
            )
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
            **(_preview_fields(request.preview) if request.preview.blob_key else {}),
        )
        tx.set_job(cost_usd=tx.job.cost_usd + cost)
        tx.emit(step, progress=events_pb2.StepProgress(fraction=1.0, message="done"))
        if request.preview.blob_key:
            tx.emit(step, preview=events_pb2.StepPreview(preview=request.preview))
        tx.emit(
            step,
            step_completed=events_pb2.StepCompleted(
                outputs=request.outputs, duration_seconds=duration, cost_usd=cost, cache_hit=request.cache_hit
            ),
        )
        return duration

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        _check_attempt_id(request.attempt_id)
        code = request.error.code[:60] or "INTERNAL"
        message = request.error.message[:2000]

        def fail(scope: Scope) -> orchestrator_pb2.FailStepResponse:
            found = _live(scope, request.attempt_id)
            if found is None:
                return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DISCARD)
            tx, step, attempt = found
            tx.conn.execute(
                store.UPDATE_ATTEMPT,
                {
                    "b_id": attempt.id,
                    "state": FAILED,
                    "finished_at": tx.now,
                    "error_code": code,
                    "error_message": message,
                },
            )
            if request.retryable and step.attempt < step.max_attempts:
                delay = dag.backoff(self.settings.retry_policy(step.name), step.attempt)
                tx.set_step(step, QUEUED, queued_at=tx.now, error_code=code, error_message=message)
                error = job_pb2.Error(code=code, message=message)
                tx.emit(
                    step,
                    retrying=events_pb2.StepRetrying(attempt=step.attempt, delay_seconds=delay, error=error),
                )
                return orchestrator_pb2.FailStepResponse(
                    action=orchestrator_pb2.FAIL_ACTION_RETRY, delay_seconds=delay
                )
            fail_job(tx, step, code, message)
            return orchestrator_pb2.FailStepResponse(action=orchestrator_pb2.FAIL_ACTION_DEAD_LETTER)

        return await self.writer.write(fail)

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        """A worker released the step (shutdown): it does not count as an attempt."""
        _check_attempt_id(request.attempt_id)

        def abandon(scope: Scope) -> None:
            found = _live(scope, request.attempt_id)
            if found is None:
                return
            tx, step, attempt = found
            tx.conn.execute(
                store.UPDATE_ATTEMPT,
                {
                    "b_id": attempt.id,
                    "state": ABANDONED,
                    "finished_at": tx.now,
                    "error_message": request.reason[:200],
                },
            )
            tx.set_step(step, QUEUED, attempt=step.attempt - 1, queued_at=tx.now)

        await self.writer.write(abandon)


def _preview_fields(preview: job_pb2.Artifact) -> dict[str, Any]:
    """A step's latest preview, as its row records it (the asset's preview file is the last one)."""
    return {
        "preview_key": preview.blob_key,
        "preview_sha256": preview.sha256[:64] or None,
        "preview_size_bytes": preview.size_bytes or None,
    }
