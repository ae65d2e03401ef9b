"""Polling relays claim outbox rows with a short lease and publish outside any transaction.

On both SQLite and PostgreSQL: publishing holds no row locks, two relays do not publish a
row twice, a dead relay's lease runs out, and a failed publish gives its lease back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy import insert, select, update

from assetcore.db.database import Database
from assetcore.db.schema import outbox
from assetcore.events.relay import OutboxRelay
from assetcore.proto.v1 import step_pb2
from assetcore.queues.base import OutgoingMessage

pytestmark = pytest.mark.timeout(60)


class FakeQueue:
    """Records what was sent; `during_send` runs while a batch is being sent."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.sent: list[str] = []
        self.delay_s = delay_s
        self.failures = 0
        self.during_send = None

    async def send_many(self, messages: list[OutgoingMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the queue is unreachable")
        if self.during_send is not None:
            await self.during_send(messages)
        await asyncio.sleep(self.delay_s)
        self.sent.extend(step_pb2.StepTask.FromString(m.body).step_id for m in messages)


@pytest.fixture
async def db(migrated_db: Database) -> Database:
    return migrated_db


async def add_rows(db: Database, count: int) -> list[str]:
    step_ids = [f"stp_{i:04d}" for i in range(count)]
    rows = [
        {
            "kind": "enqueue",
            "topic": "rig",
            "payload": step_pb2.StepTask(step_name="rig", step_id=step_id).SerializeToString(),
            "priority": 0,
            "delay_s": 0.0,
            "created_at": time.time() - 60,
        }
        for step_id in step_ids
    ]
    await db.write(lambda conn: conn.execute(insert(outbox), rows))
    return step_ids


async def unpublished(db: Database) -> int:
    query = select(outbox.c.id).where(outbox.c.published_at.is_(None))
    return len(await db.read(lambda conn: conn.execute(query).all()))


async def test_publishing_holds_no_row_locks(db: Database) -> None:
    await add_rows(db, 3)
    queue = FakeQueue()

    async def touch_the_rows(messages: list[OutgoingMessage]) -> None:
        # Were the rows locked (or SQLite's write lock held) while publishing, this would hang.
        touch = update(outbox).values(priority=5)
        await asyncio.wait_for(db.write(lambda conn: conn.execute(touch)), 5)

    queue.during_send = touch_the_rows
    relay = OutboxRelay(db, queue, None, poll_grace_s=0.0)  # type: ignore[arg-type]
    assert await relay.poll_once() == 3
    assert queue.sent == ["stp_0000", "stp_0001", "stp_0002"], "in order"
    assert await unpublished(db) == 0


async def test_two_relays_do_not_publish_a_row_twice(db: Database) -> None:
    step_ids = await add_rows(db, 60)
    queue = FakeQueue(delay_s=0.02)
    relays = [OutboxRelay(db, queue, None, batch_size=7, poll_grace_s=0.0) for _ in range(2)]  # type: ignore[arg-type]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while published := await relay.poll_once():
            total += published
        return total

    counts = await asyncio.gather(*(drain(r) for r in relays))
    assert sum(counts) == 60
    assert Counter(queue.sent) == Counter(step_ids), "each row exactly once"
    assert await unpublished(db) == 0


async def test_a_dead_relays_lease_runs_out(db: Database) -> None:
    step_ids = await add_rows(db, 4)
    dead = OutboxRelay(db, FakeQueue(), None, poll_grace_s=0.0, lease_s=0.5)  # type: ignore[arg-type]
    now = time.time()
    claimed = await db.write(lambda conn: dead._claim_rows(conn, cutoff=now, now=now, until=now + 0.5))
    assert len(claimed) == 4  # ... and then the relay died without publishing them
    queue = FakeQueue()
    alive = OutboxRelay(db, queue, None, poll_grace_s=0.0)  # type: ignore[arg-type]
    assert await alive.poll_once() == 0, "leased rows are left to their relay"
    await asyncio.sleep(0.6)
    assert await alive.poll_once() == 4
    assert queue.sent == step_ids


async def test_a_failed_publish_gives_its_lease_back(db: Database) -> None:
    await add_rows(db, 2)
    queue = FakeQueue()
    queue.failures = 1
    relay = OutboxRelay(db, queue, None, poll_grace_s=0.0, lease_s=600)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await relay.poll_once()
    assert await relay.poll_once() == 2, "retried at once, not after the lease"
    assert await unpublished(db) == 0
