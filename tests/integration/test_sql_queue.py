"""The SQL-table queue's SQS semantics, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import pytest

from assetcore.db.migrate import upgrade
from assetcore.queues.base import StaleReceipt
from assetcore.queues.sql import SqlStepQueue


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[SqlStepQueue]:
    await upgrade(database_url)
    q = SqlStepQueue(database_url, max_receives=3, poll_interval_s=0.01, max_poll_interval_s=0.05)
    yield q
    await q.close()


async def receive(q: SqlStepQueue, *names: str, n: int = 10, lease: float = 30.0) -> list:  # type: ignore[type-arg]
    return await q.receive(list(names), max_messages=n, visibility_timeout_s=lease, wait_s=0)


async def test_fifo_within_priority_and_earlier_queues_first(queue: SqlStepQueue) -> None:
    await queue.send("export", b"e1")
    await queue.send("tti", b"t-low", priority=1)
    await queue.send("tti", b"t-high", priority=3)
    await queue.send("tti", b"t-low2", priority=1)
    got = await receive(queue, "tti", "export")
    assert [m.body for m in got] == [b"t-high", b"t-low", b"t-low2", b"e1"]
    assert all(m.receive_count == 1 for m in got)
    assert await receive(queue, "tti", "export") == [], "received messages are leased"


async def test_lease_expiry_redelivers_with_a_new_receipt(queue: SqlStepQueue) -> None:
    await queue.send("rig", b"x")
    [first] = await receive(queue, "rig", lease=0.2)
    await asyncio.sleep(0.3)
    [second] = await receive(queue, "rig")
    assert second.message_id == first.message_id and second.receive_count == 2
    assert second.receipt != first.receipt
    with pytest.raises(StaleReceipt):
        await queue.delete(first)
    await queue.delete(second)
    assert (await queue.depth("rig")).visible == 0


async def test_heartbeat_extends_and_release_returns(queue: SqlStepQueue) -> None:
    await queue.send("anim", b"x")
    [msg] = await receive(queue, "anim", lease=0.3)
    await asyncio.sleep(0.2)
    await queue.change_visibility(msg, 10.0)  # heartbeat: far longer than the checks below take
    await asyncio.sleep(0.2)  # past the first lease
    assert await receive(queue, "anim") == [], "the heartbeat kept the lease"
    await queue.change_visibility(msg, 0)  # release
    assert [m.body for m in await receive(queue, "anim")] == [b"x"]


async def test_delay_and_depth(queue: SqlStepQueue) -> None:
    delay_s = 2.0  # the checks before it ends take milliseconds; a busy machine gets ample room
    sent_at = time.monotonic()
    await queue.send("retopo", b"later", delay_s=delay_s)
    await queue.send("retopo", b"now")
    depth = await queue.depth("retopo")
    assert (depth.visible, depth.delayed, depth.in_flight, depth.dead) == (1, 1, 0, 0)
    assert [m.body for m in await receive(queue, "retopo")] == [b"now"]
    assert (await queue.depth("retopo")).in_flight == 1
    later = await queue.receive(["retopo"], max_messages=10, visibility_timeout_s=30, wait_s=30)
    assert [m.body for m in later] == [b"later"]
    assert time.monotonic() - sent_at >= delay_s - 0.05, "not before its delay"


async def test_dead_letter_after_max_receives_and_explicitly(queue: SqlStepQueue) -> None:
    await queue.send("refine", b"poison")
    for _ in range(3):
        assert len(await receive(queue, "refine", lease=0.05)) == 1
        await asyncio.sleep(0.08)
    assert await receive(queue, "refine") == []
    assert (await queue.depth("refine")).dead == 1
    [dead] = await receive(queue, "refine-dlq")
    assert dead.body == b"poison"
    await queue.send("refine", b"bad")
    [msg] = await receive(queue, "refine")
    await queue.dead_letter(msg)
    assert (await queue.depth("refine")).dead == 2


async def test_long_poll_wakes_on_send(queue: SqlStepQueue, database_url: str) -> None:
    # This consumer polls once, then not again for 30 s: only the send's wake-up can return it sooner.
    consumer = SqlStepQueue(database_url, max_receives=3, poll_interval_s=30.0, max_poll_interval_s=30.0)
    try:
        waiting = asyncio.create_task(
            consumer.receive(["tti"], max_messages=1, visibility_timeout_s=5, wait_s=60)
        )
        await asyncio.sleep(0.1)
        await queue.send("tti", b"hello")
        [msg] = await asyncio.wait_for(waiting, 20.0)
        assert msg.body == b"hello"
    finally:
        await consumer.close()


async def test_concurrent_consumers_never_share_a_message(queue: SqlStepQueue, database_url: str) -> None:
    other = SqlStepQueue(database_url, max_receives=3)
    try:
        for i in range(40):
            await queue.send("export", str(i).encode())
        results = await asyncio.gather(*(receive(q, "export", n=3) for q in [queue, other] * 10))
        bodies = [m.body for batch in results for m in batch]
        assert len(bodies) == len(set(bodies)) == 40
    finally:
        await other.close()


async def test_a_send_from_another_process_rings_the_doorbell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'queues.db'}"
    await upgrade(url)
    # This consumer polls once, then not again for 60 s: only the doorbell can wake it sooner.
    consumer = SqlStepQueue(url, poll_interval_s=60.0, max_poll_interval_s=60.0)
    sender = (
        "import asyncio, sys\n"
        "from assetcore.queues.sql import SqlStepQueue\n"
        "async def main():\n"
        "    q = SqlStepQueue(sys.argv[1])\n"
        "    await q.send('tti', b'rung')\n"
        "    await q.close()\n"
        "asyncio.run(main())\n"
    )
    try:
        receiving = asyncio.create_task(
            consumer.receive(["tti"], max_messages=1, visibility_timeout_s=5, wait_s=120)
        )
        await asyncio.sleep(0.3)  # the consumer is listening (bound before its first poll)
        # A new interpreter importing the queue takes seconds on a busy machine: the bounds
        # below leave room for that and still end well before the consumer's next poll.
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", sender, url)
        assert await asyncio.wait_for(process.wait(), 30.0) == 0
        [message] = await asyncio.wait_for(receiving, 15.0)
        assert message.body == b"rung"
    finally:
        await consumer.close()
