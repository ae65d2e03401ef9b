"""The DAG advance: what follows a change of a job's steps, inside the job's transaction.

`Advance` queues every pending step whose parents succeeded (an outbox row with its
StepTask, and a `queued` event with its position and ETA), finishes the job when every step
succeeded (publishing its asset version, see library.py), and takes a job out of
`awaiting_review` once no step waits for review. `fail_job` ends a job at a failed step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assetcore.proto.v1 import events_pb2, job_pb2
from assetcore.steps.pipeline import Pipeline
from services.orchestrator import dag, eta, library, store
from services.orchestrator.jobtx import JobTx
from services.orchestrator.rows import ArtifactRow, StepRow
from services.orchestrator.states import CANCELLED, FAILED, QUEUED, STEP_DONE, SUCCEEDED

FileSuffix = Callable[[str], str | None]
ASSET_DELETED = "ASSET_DELETED"


class Advance:
    """The DAG advance, with what it needs from beyond the job: ETAs, and the library's file
    names (which the steps declare: Catalog.file_suffix)."""

    def __init__(self, eta_model: eta.EtaModel, file_suffix: FileSuffix) -> None:
        self._eta = eta_model
        self._file_suffix = file_suffix

    def __call__(self, tx: JobTx, step_rows: Sequence[StepRow], art_rows: Sequence[ArtifactRow]) -> None:
        """Queue the ready steps; finish the job when all succeeded. `step_rows`: all of the job's."""
        job = tx.job
        job_input = job_pb2.JobInput.FromString(job.input)
        pipeline = dag.job_dag(job, job_input, step_rows)
        by_name = {s.name: s for s in step_rows}
        for step in dag.ready(step_rows):
            tx.set_step(step, QUEUED, queued_at=tx.now)
            task = dag.step_task(job, step, job_input, pipeline, by_name, art_rows, tx.now)
            tx.enqueue(task, job.priority)
            position = eta.queue_position(tx.conn, step)
            eta_s = self._eta.step_eta(tx.conn, step.name, position)
            tx.emit(step, queued=events_pb2.StepQueued(position=position, eta_seconds=eta_s))
        if dag.all_succeeded(step_rows):
            self._succeed(tx, job_input, step_rows, art_rows, pipeline)
        elif (state := dag.state_after_review(tx.state, step_rows)) is not None:
            tx.set_job(state)

    def _succeed(
        self,
        tx: JobTx,
        job_input: job_pb2.JobInput,
        step_rows: Sequence[StepRow],
        art_rows: Sequence[ArtifactRow],
        pipeline: Pipeline,
    ) -> None:
        """Record the job's asset version (its files copied beforehand) and finish the job.

        A job for a new version of an asset deleted meanwhile fails: a deletion is never undone.
        """
        if job_input.asset_id and not library.asset_exists(tx.conn, job_input.asset_id):
            message = f"asset {job_input.asset_id} was deleted while the job ran; nothing was published"
            tx.set_job(FAILED, finished_at=tx.now, error_code=ASSET_DELETED, error_message=message)
            error = job_pb2.Error(code=ASSET_DELETED, message=message)
            tx.emit(failed=events_pb2.JobFailed(error=error))
            tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_FAILED, cost_usd=tx.job.cost_usd))
            return
        plan = library.plan_version(tx.job, job_input, step_rows, art_rows, pipeline, self._file_suffix)
        version = tx.prepared.get(plan.digest)
        if version is None:
            raise library.PublishFirst(plan)  # rolls back; the writer copies the files and runs it again
        files = library.record_version(tx.conn, tx.job, job_input, plan, version, tx.now)
        tx.set_job(SUCCEEDED, finished_at=tx.now, asset_version=version)
        tx.emit(
            finished=events_pb2.JobFinished(
                state=job_pb2.JOB_STATE_SUCCEEDED,
                asset_id=plan.asset_id,
                asset_version=version,
                artifacts=files,
                cost_usd=tx.job.cost_usd,
            )
        )


def fail_job(tx: JobTx, step: StepRow, code: str, message: str) -> None:
    """The step failed for good: cancel the job's unfinished steps and fail the job."""
    tx.set_step(step, FAILED, finished_at=tx.now, error_code=code, error_message=message)
    for other in store.steps_of(tx.conn, [tx.job.id]):
        if other.id != step.id and other.state not in STEP_DONE:
            tx.set_step(other, CANCELLED, cancel_requested=True)
    tx.set_job(FAILED, finished_at=tx.now, error_code=code, error_message=message)
    error = job_pb2.Error(code=code, message=f"{step.name}: {message}")
    tx.emit(step, failed=events_pb2.JobFailed(error=error))
    tx.emit(finished=events_pb2.JobFinished(state=job_pb2.JOB_STATE_FAILED, cost_usd=tx.job.cost_usd))
