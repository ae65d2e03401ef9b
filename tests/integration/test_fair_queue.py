"""Fair dequeue on the SQL-table queue: tenants take turns within a priority (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assetcore.db.migrate import upgrade
from assetcore.queues.base import OutgoingMessage, QueueMessage
from assetcore.queues.sql import SqlStepQueue


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[SqlStepQueue]:
    await upgrade(database_url)
    q = SqlStepQueue(database_url, poll_interval_s=0.01, max_poll_interval_s=0.05)
    yield q
    await q.close()


async def claim(q: SqlStepQueue, *names: str, n: int = 1) -> list[QueueMessage]:
    return await q.receive(list(names), max_messages=n, visibility_timeout_s=60, wait_s=0)


async def test_a_burst_of_500_does_not_starve_another_tenants_single_message(queue: SqlStepQueue) -> None:
    await queue.send_many([OutgoingMessage("tti", f"a{i}".encode(), group="tnt_a") for i in range(500)])
    await queue.send("tti", b"b0", group="tnt_b")
    first = await claim(queue, "tti")
    second = await claim(queue, "tti")
    assert [m.body for m in first + second] == [b"a0", b"b0"], "B is served right after A's first"


async def test_one_claim_takes_one_message_per_tenant_before_a_second(queue: SqlStepQueue) -> None:
    await queue.send_many([OutgoingMessage("rig", f"a{i}".encode(), group="tnt_a") for i in range(20)])
    await queue.send_many([OutgoingMessage("rig", f"c{i}".encode(), group="tnt_c") for i in range(2)])
    await queue.send("rig", b"b0", group="tnt_b")
    got = await claim(queue, "rig", n=5)
    assert sorted(m.body for m in got) == [b"a0", b"a1", b"b0", b"c0", b"c1"]


async def test_workers_taking_one_at_a_time_go_round_robin(queue: SqlStepQueue) -> None:
    """Deleting each message before the next claim (one worker, serially): nothing in flight,
    so only the record of who was served last keeps the turns."""
    for tenant, count in (("tnt_a", 6), ("tnt_b", 2), ("tnt_c", 1)):
        await queue.send_many(
            [OutgoingMessage("anim", f"{tenant}-{i}".encode(), group=tenant) for i in range(count)]
        )
    order = []
    for _ in range(9):
        [message] = await claim(queue, "anim")
        order.append(message.body.decode().split("-")[0])
        await queue.delete(message)
    assert order[:5] == ["tnt_a", "tnt_b", "tnt_c", "tnt_a", "tnt_b"]
    assert order[5:] == ["tnt_a"] * 4


async def test_priority_and_queue_order_still_come_first(queue: SqlStepQueue) -> None:
    await queue.send_many(
        [
            OutgoingMessage("export", b"b-export", group="tnt_b"),
            OutgoingMessage("tti", b"b-normal", priority=2, group="tnt_b"),
            OutgoingMessage("tti", b"a-high-1", priority=3, group="tnt_a"),
            OutgoingMessage("tti", b"a-high-2", priority=3, group="tnt_a"),
        ]
    )
    got = [m.body for m in await claim(queue, "tti", "export", n=4)]
    assert got == [b"a-high-1", b"a-high-2", b"b-normal", b"b-export"]


async def test_a_group_longer_than_the_column_is_refused(queue: SqlStepQueue) -> None:
    with pytest.raises(ValueError, match="group"):
        await queue.send("tti", b"x", group="t" * 81)
