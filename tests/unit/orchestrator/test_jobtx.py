"""JobTx: one job's changes, events, transitions and outbox rows, written together by flush()."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Connection, select

from assetcore.db.database import Database
from assetcore.db.schema import job_events, job_transitions, jobs, outbox, steps
from assetcore.proto.v1 import events_pb2, step_pb2
from services.orchestrator import store
from services.orchestrator.jobtx import JobTx
from services.orchestrator.states import QUEUED, RUNNING
from tests.unit.orchestrator.support import insert_job, job_row, step_rows


async def test_a_new_job_is_inserted_with_its_steps_in_their_final_state(db: Database) -> None:
    job = job_row("concept")
    rows = step_rows(job)

    def create(conn: Connection) -> JobTx:
        tx = JobTx(conn, job, 50.0, publish_events=False, new=True)
        tx.add_steps(rows)
        tx.set_step(rows[0], QUEUED, queued_at=50.0)
        tx.emit(rows[0], queued=events_pb2.StepQueued(position=0, eta_seconds=1.0))
        tx.enqueue(step_pb2.StepTask(step_name="tti", step_id=rows[0].id), priority=2)
        tx.flush()
        return tx

    tx = await db.write(create)
    assert [r["id"] for r in tx.outbox_rows] == [1], "outbox rows learn their ids"

    def load(conn: Connection) -> tuple[object, ...]:
        return (
            store.job_from(conn.execute(store.JOB, {"job_id": job.id}).one()),
            store.steps_of(conn, [job.id]),
            conn.execute(select(job_events.c.seq)).scalars().all(),
            conn.execute(select(outbox.c.kind, outbox.c.topic, outbox.c.priority)).all(),
            conn.execute(select(job_transitions.c.step_name, job_transitions.c.to_state)).all(),
        )

    stored, stored_steps, seqs, outbox_rows, transitions = await db.read(load)
    assert stored.event_seq == 1 and stored.updated_at == 50.0
    assert [(s.name, s.state) for s in stored_steps] == [("tti", QUEUED), ("refine", "pending")]
    assert seqs == [1]
    assert [tuple(r) for r in outbox_rows] == [("enqueue", "tti", 2)]
    assert [tuple(r) for r in transitions] == [("tti", QUEUED)]


async def test_changes_write_only_what_changed_and_events_go_to_the_bus_outbox(db: Database) -> None:
    job = job_row("concept")
    rows = step_rows(job)
    await insert_job(db, job, rows)

    def change(conn: Connection) -> JobTx:
        found = JobTx.for_step(conn, rows[1].id, time.time(), publish_events=True)
        assert found is not None
        tx, step = found
        assert (tx.job.id, step.name) == (job.id, "refine")
        tx.set_step(step, RUNNING, attempt=1)
        tx.set_job(RUNNING, started_at=tx.now)
        tx.emit(step, started=events_pb2.StepStarted(attempt=1))
        tx.emit(step, progress=events_pb2.StepProgress(fraction=0.5))
        tx.flush()
        return tx

    tx = await db.write(change)
    assert [e.sequence for e in tx.events] == [1, 2]
    assert [r["topic"] for r in tx.outbox_rows] == ["started"], "progress stays off the bus"

    def load(conn: Connection) -> tuple[object, ...]:
        return (
            conn.execute(select(jobs.c.state, jobs.c.event_seq)).one(),
            conn.execute(
                select(steps.c.name, steps.c.state, steps.c.attempt).order_by(steps.c.ordinal)
            ).all(),
            conn.execute(select(job_transitions.c.step_name, job_transitions.c.from_state)).all(),
        )

    job_state, step_states, transitions = await db.read(load)
    assert tuple(job_state) == (RUNNING, 2)
    assert [tuple(s) for s in step_states] == [("tti", "pending", 0), ("refine", RUNNING, 1)]
    assert {tuple(t) for t in transitions} == {(None, QUEUED), ("refine", "pending")}


async def test_loading_an_attempt_brings_its_step_and_job(db: Database) -> None:
    job = job_row("concept")
    rows = step_rows(job)
    await insert_job(db, job, rows)

    def start(conn: Connection) -> None:
        conn.execute(
            store.INSERT_ATTEMPT,
            {
                "id": "att_unit",
                "step_id": rows[0].id,
                "generation": 0,
                "number": 1,
                "worker_id": "w",
                "delivery_count": 1,
                "state": RUNNING,
                "started_at": 1.0,
            },
        )

    await db.write(start)
    found = await db.write(lambda conn: JobTx.for_attempt(conn, "att_unit", 2.0, publish_events=False))
    assert found is not None
    tx, step, attempt = found
    assert (tx.job.id, step.id, attempt.worker_id, attempt.state) == (job.id, rows[0].id, "w", RUNNING)
    assert await db.write(lambda conn: JobTx.for_attempt(conn, "att_none", 2.0, publish_events=False)) is None


async def test_an_unknown_field_is_refused(db: Database) -> None:
    job = job_row("concept")
    await insert_job(db, job, step_rows(job))

    def change(conn: Connection) -> None:
        tx = JobTx.for_job(conn, job.id, 1.0, publish_events=False)
        assert tx is not None
        tx.set_job(stat="typo")

    with pytest.raises(AttributeError):
        await db.write(change)
