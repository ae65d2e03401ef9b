"""The DAG advance inside a job's transaction: queue ready steps, finish, leave review, fail."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import pytest
from sqlalchemy import Connection, func, select

from assetcore.db.database import Database
from assetcore.db.schema import asset_versions, assets, jobs, outbox
from assetcore.proto.v1 import job_pb2, step_pb2
from services.orchestrator import library, store
from services.orchestrator.advance import fail_job
from services.orchestrator.jobtx import JobTx
from services.orchestrator.rows import ArtifactRow, StepRow
from services.orchestrator.states import (
    AWAITING_REVIEW,
    CANCELLED,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    SUCCEEDED,
)
from tests.unit.orchestrator.support import advancer, artifact, insert_job, job_row, step_rows

T = TypeVar("T")


async def in_job(
    db: Database,
    job_id: str,
    fn: Callable[[JobTx, list[StepRow]], T],
    prepared: Mapping[str, int] | None = None,
) -> tuple[JobTx, T]:
    def body(conn: Connection) -> tuple[JobTx, T]:
        tx = JobTx.for_job(conn, job_id, time.time(), publish_events=False)
        assert tx is not None
        tx.prepared = prepared or {}
        result = fn(tx, store.steps_of(conn, [job_id]))
        tx.flush()
        return tx, result

    return await db.write(body)


async def test_the_ready_steps_are_queued_with_their_task_and_position(db: Database) -> None:
    job = job_row("character")
    await insert_job(db, job, step_rows(job))
    tx, _ = await in_job(db, job.id, lambda tx, rows: advancer()(tx, rows, []))
    [queued] = [e for e in tx.events if e.WhichOneof("kind") == "queued"]
    assert queued.step_name == "tti" and queued.queued.position == 0 and queued.queued.eta_seconds > 0
    [row] = tx.outbox_rows
    task = step_pb2.StepTask.FromString(row["payload"])
    assert (row["topic"], task.step_name, task.job_id) == ("tti", "tti", job.id)
    steps = await db.read(lambda conn: store.steps_of(conn, [job.id]))
    assert [s.state for s in steps] == [QUEUED] + [PENDING] * 6
    assert steps[0].queued_at is not None


async def test_nothing_is_queued_twice(db: Database) -> None:
    job = job_row("concept")
    await insert_job(db, job, step_rows(job))
    await in_job(db, job.id, lambda tx, rows: advancer()(tx, rows, []))
    tx, _ = await in_job(db, job.id, lambda tx, rows: advancer()(tx, rows, []))
    assert tx.outbox_rows == [] and tx.events == []
    assert await db.read(lambda conn: conn.execute(select(func.count()).select_from(outbox)).scalar()) == 1


def succeeded(job_rows: list[StepRow]) -> list[ArtifactRow]:
    for step in job_rows:
        step.state = SUCCEEDED
    return [artifact(job_rows[0], "image", b"concept"), artifact(job_rows[1], "image", b"refined")]


async def test_the_last_success_asks_for_the_files_first_and_writes_nothing(db: Database) -> None:
    job = job_row("concept")
    rows = step_rows(job)
    await insert_job(db, job, rows)

    def finish(tx: JobTx, rows: list[StepRow]) -> None:
        tx.set_job(RUNNING)
        advancer()(tx, rows, succeeded(rows))

    with pytest.raises(library.PublishFirst) as raised:
        await in_job(db, job.id, finish)
    plan = raised.value.plan
    assert plan.job_id == job.id and [f.filename for f in plan.files] == ["red_knight_concept.png"]
    assert await db.read(lambda conn: conn.execute(select(jobs.c.state)).scalar()) == QUEUED, "rolled back"


async def test_with_its_version_prepared_the_job_succeeds_and_the_version_is_recorded(db: Database) -> None:
    job = job_row("concept")
    await insert_job(db, job, step_rows(job))
    arts: list[ArtifactRow] = []

    def finish(tx: JobTx, rows: list[StepRow]) -> None:
        arts.extend(succeeded(rows))
        advancer()(tx, rows, arts)

    with pytest.raises(library.PublishFirst) as raised:
        await in_job(db, job.id, finish)
    arts.clear()
    tx, _ = await in_job(db, job.id, finish, prepared={raised.value.plan.digest: 1})
    assert tx.job.state == SUCCEEDED and tx.job.asset_version == 1
    finished = tx.events[-1].finished
    assert finished.state == job_pb2.JOB_STATE_SUCCEEDED and finished.asset_version == 1
    assert [f.blob_key for f in finished.artifacts] == [
        f"t/{job.tenant_id}/library/{job.project_id}/{job.asset_id}/v1/red_knight_concept.png"
    ]
    assert finished.artifacts[0].sha256 == arts[1].sha256, "the latest concept image"

    def load(conn: Connection) -> tuple[object, ...]:
        return (
            conn.execute(select(assets.c.latest_version, assets.c.name)).one(),
            conn.execute(select(asset_versions.c.version, asset_versions.c.job_id)).all(),
        )

    asset, versions = await db.read(load)
    assert tuple(asset) == (1, "Red Knight")
    assert [tuple(v) for v in versions] == [(1, job.id)]


async def test_a_job_leaves_review_once_no_step_awaits_it(db: Database) -> None:
    job = job_row("character")
    job.state = AWAITING_REVIEW
    rows = step_rows(job)
    rows[0].state = SUCCEEDED
    await insert_job(db, job, rows)
    tx, _ = await in_job(db, job.id, lambda tx, rows: advancer()(tx, rows, []))
    assert tx.job.state == QUEUED
    assert [e.step_name for e in tx.events] == ["refine"]


async def test_failing_a_job_cancels_its_unfinished_steps(db: Database) -> None:
    job = job_row("character")
    rows = step_rows(job)
    rows[0].state, rows[1].state = SUCCEEDED, RUNNING
    await insert_job(db, job, rows)

    def fail(tx: JobTx, rows: list[StepRow]) -> None:
        fail_job(tx, rows[1], "E_BROKEN", "it broke")

    tx, _ = await in_job(db, job.id, fail)
    assert (tx.job.state, tx.job.error_code) == (FAILED, "E_BROKEN")
    assert [e.WhichOneof("kind") for e in tx.events] == ["failed", "finished"]
    assert tx.events[0].failed.error.message == "refine: it broke"
    steps = await db.read(lambda conn: store.steps_of(conn, [job.id]))
    assert [s.state for s in steps] == [SUCCEEDED, FAILED] + [CANCELLED] * 5
    assert all(s.cancel_requested for s in steps[2:])
