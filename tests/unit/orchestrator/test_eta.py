"""Queue positions and ETAs from measured step durations."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from assetcore.db.database import Database
from assetcore.db.schema import step_stats, steps
from assetcore.proto.v1 import job_pb2
from services.orchestrator import eta, store
from services.orchestrator.states import QUEUED, RUNNING, SUCCEEDED
from tests.unit.orchestrator.support import insert_job, job_row, step_rows


async def queue_jobs(db: Database, count: int) -> list[str]:
    """`count` concept jobs whose tti step was queued at t = 1, 2, ..."""
    ids = []
    for i in range(count):
        job = job_row("concept")
        rows = step_rows(job)
        rows[0].state, rows[0].queued_at = QUEUED, float(i + 1)
        await insert_job(db, job, rows)
        ids.append(job.id)
    return ids


async def test_position_counts_the_same_steps_queued_before(db: Database) -> None:
    ids = await queue_jobs(db, 3)

    def positions(conn: Connection) -> list[int]:
        return [eta.queue_position(conn, store.steps_of(conn, [job_id])[0]) for job_id in ids]

    assert await db.read(positions) == [0, 1, 2]


async def test_means_are_exponentially_weighted_and_saved(db: Database) -> None:
    model = eta.EtaModel()

    def observe(conn: Connection) -> None:
        model.observe(conn, "tti", 10.0, now=100.0)
        model.observe(conn, "tti", 20.0, now=100.5)  # folded in, saved at most once a second

    await db.write(observe)
    saved = await db.read(lambda conn: conn.execute(select(step_stats.c.mean_s, step_stats.c.samples)).one())
    assert tuple(saved) == (10.0, 1)
    assert model._mean("tti") == 10.0 + eta.EWMA_WEIGHT * (20.0 - 10.0)
    await db.write(lambda conn: model.observe(conn, "tti", 12.0, now=102.0))
    saved = await db.read(lambda conn: conn.execute(select(step_stats.c.samples)).scalar_one())
    assert saved == 3
    assert eta.EtaModel()._mean("tti") == eta.DEFAULT_MEAN_S, "before anything is measured"


async def test_eta_of_queued_steps_and_the_remaining_time(db: Database) -> None:
    ids = await queue_jobs(db, 3)
    model = eta.EtaModel()
    await db.write(lambda conn: model.observe(conn, "tti", 4.0, now=1.0))

    def info(conn: Connection) -> tuple[dict[str, job_pb2.QueueInfo], list[float]]:
        rows = store.steps_of(conn, [ids[2]])
        queue = model.queue_info(conn, rows)
        return queue, [model.remaining(rows, queue)]

    queue, [remaining] = await db.read(info)
    [only] = queue.values()
    assert only.position == 2
    assert only.eta_seconds == 2 * 4.0 + 4.0, "two ahead through one worker, then its own run"
    assert remaining == only.eta_seconds + eta.DEFAULT_MEAN_S, "then refine, not yet measured"

    def progress(conn: Connection) -> float:
        conn.execute(
            update(steps)
            .where(steps.c.job_id == ids[2], steps.c.name == "tti")
            .values(state=RUNNING, progress=0.75)
        )
        return model.remaining(store.steps_of(conn, [ids[2]]), {})

    assert await db.write(progress) == 0.25 * 4.0 + eta.DEFAULT_MEAN_S

    def done(conn: Connection) -> float:
        conn.execute(update(steps).where(steps.c.job_id == ids[2]).values(state=SUCCEEDED))
        return model.remaining(store.steps_of(conn, [ids[2]]), {})

    assert await db.write(done) == 0.0
