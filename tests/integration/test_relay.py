"""The outbox relay: rows a crash left unpublished are found by polling and published once marked."""

from __future__ import annotations

import time

from sqlalchemy import insert, select

from assetcore.db.database import close_database, open_database
from assetcore.db.migrate import upgrade
from assetcore.db.schema import outbox
from assetcore.events.relay import OutboxRelay
from assetcore.proto.v1 import events_pb2, step_pb2
from assetcore.queues.sql import SqlStepQueue


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[events_pb2.JobEvent] = []

    async def publish(self, events: list[events_pb2.JobEvent]) -> None:
        self.events.extend(events)

    async def close(self) -> None:
        return None


async def test_unpublished_rows_are_published_by_polling(database_url: str) -> None:
    await upgrade(database_url)
    db = open_database(database_url)
    queue = SqlStepQueue(database_url)
    publisher = RecordingPublisher()
    relay = OutboxRelay(db, queue, publisher, poll_grace_s=0.0)
    task = step_pb2.StepTask(step_name="rig", step_id="stp_x").SerializeToString()
    event = events_pb2.JobEvent(job_id="job_x", sequence=1).SerializeToString()
    long_ago = time.time() - 60
    rows = [
        {
            "kind": "enqueue",
            "topic": "rig",
            "payload": task,
            "priority": 2,
            "delay_s": 0.0,
            "created_at": long_ago,
        },
        {
            "kind": "event",
            "topic": "queued",
            "payload": event,
            "priority": 0,
            "delay_s": 0.0,
            "created_at": long_ago,
        },
    ]
    try:
        await db.write(lambda conn: conn.execute(insert(outbox), rows))  # committed, then "the process died"
        assert await relay.poll_once() == 2
        [message] = await queue.receive(["rig"], max_messages=5, visibility_timeout_s=5, wait_s=0)
        assert step_pb2.StepTask.FromString(message.body).step_id == "stp_x"
        assert [e.job_id for e in publisher.events] == ["job_x"]
        unpublished = select(outbox.c.id).where(outbox.c.published_at.is_(None))
        assert await db.read(lambda conn: conn.execute(unpublished).all()) == []
        assert await relay.poll_once() == 0, "published rows are not published again"
    finally:
        await queue.close()
        await close_database(db)
