"""The outbox relay: publishes committed outbox rows, in order, at least once.

Step tasks go to their step's queue, events to the event bus. Two paths feed it:
- hand-over: right after a transaction commits, the orchestrator passes its outbox rows
  here and they are published at once (the hot path: no read back);
- polling: rows still unpublished a while after their commit (a crash between commit and
  publish, a queue outage, another replica's rows) are read from the table and published.
A row is marked published only after its publish succeeded, so a crash in between
publishes it again: consumers are idempotent (StartStep skips stale or finished steps;
events carry a per-job sequence).

Polling never publishes inside a transaction (nor while holding row locks): one short
transaction claims a batch by setting its lease (`lease_until`; on PostgreSQL the batch is
picked with FOR UPDATE SKIP LOCKED, so concurrent claims never take the same row), then the
rows are published with no transaction open, then marked published. Other relays skip
leased rows until the lease ends, so two relays do not normally publish a row twice; if a
relay dies holding a lease, its rows are published by whoever polls after the lease ends. A
failed publish gives its leases back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update

from assetcore.db.database import Database
from assetcore.db.schema import outbox
from assetcore.events.base import EventPublisher
from assetcore.proto.v1 import events_pb2, step_pb2
from assetcore.queues.base import OutgoingMessage, StepQueue

log = logging.getLogger(__name__)
Row = dict[str, Any]
MARK_INTERVAL_S = 0.1  # published hand-over rows are marked at most this late (poll_grace_s is far longer)
MARK_PUBLISHED = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now"))
)
RELEASE = (
    update(outbox)
    .where(
        outbox.c.id.in_(bindparam("ids", expanding=True)),
        outbox.c.lease_until == bindparam("until"),
        outbox.c.published_at.is_(None),
    )
    .values(lease_until=None)
)
RETURNED = (outbox.c.id, outbox.c.kind, outbox.c.topic, outbox.c.payload, outbox.c.priority, outbox.c.delay_s)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        queue: StepQueue,
        publisher: EventPublisher | None,
        *,
        batch_size: int = 200,
        idle_poll_s: float = 1.0,
        poll_grace_s: float = 2.0,
        retention_s: float = 3600.0,
        lease_s: float = 30.0,
    ) -> None:
        """`poll_grace_s`: polling leaves younger rows to the hand-over path. `lease_s`: how long
        rows claimed by polling are left to this relay (far longer than a publish takes)."""
        self._db = db
        self._queue = queue
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_poll_s = idle_poll_s
        self._poll_grace_s = poll_grace_s
        self._retention_s = retention_s
        self._lease_s = lease_s
        claimable = (
            select(outbox.c.id)
            .where(
                outbox.c.published_at.is_(None),
                outbox.c.created_at <= bindparam("cutoff"),
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < bindparam("now")),
            )
            .order_by(outbox.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's writer excludes other claims
        )
        self._claim = (
            update(outbox)
            .where(outbox.c.id.in_(claimable.scalar_subquery()))
            .values(lease_until=bindparam("until"))
            .returning(*RETURNED)
        )
        self._handed_over: list[Row] = []
        self._published_unmarked: list[Row] = []  # marked in batches: a mark is a write transaction
        self._last_mark = 0.0
        self._wakeup = asyncio.Event()
        self._last_poll = 0.0
        self._last_purge = 0.0

    def committed(self, rows: Sequence[Row]) -> None:
        """Outbox rows (with their ids) of a transaction that just committed."""
        self._handed_over.extend(rows)
        self._wakeup.set()

    async def run(self) -> None:
        """Publish until cancelled; failures back off and are retried by polling."""
        failures = 0
        while True:
            self._wakeup.clear()
            try:
                if self._handed_over:
                    rows, self._handed_over = self._handed_over, []
                    await self._publish(rows)
                    self._published_unmarked.extend(rows)
                    if time.monotonic() - self._last_mark >= MARK_INTERVAL_S:
                        await self._mark_published()
                elif self._published_unmarked:
                    await self._mark_published()
                elif time.monotonic() - self._last_poll >= self._idle_poll_s:
                    self._last_poll = time.monotonic()
                    if await self.poll_once() == self._batch_size:
                        continue
                    await self._purge_published()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; unpublished rows will be retried")
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if not self._handed_over:
                wait_s = MARK_INTERVAL_S if self._published_unmarked else self._idle_poll_s
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        await self._wakeup.wait()

    async def _mark_published(self) -> None:
        rows, self._published_unmarked = self._published_unmarked, []
        self._last_mark = time.monotonic()
        await self._db.write(partial(_mark, rows=rows))

    async def poll_once(self, grace_s: float | None = None) -> int:
        """Claim, publish and mark unpublished rows older than the grace period; returns how many."""
        now = time.time()
        cutoff = now - (self._poll_grace_s if grace_s is None else grace_s)
        until = now + self._lease_s
        rows = await self._db.write(partial(self._claim_rows, cutoff=cutoff, now=now, until=until))
        if not rows:
            return 0
        try:
            await self._publish(rows)
        except Exception:
            with contextlib.suppress(Exception):  # else the lease ends by itself
                ids = [r["id"] for r in rows]
                await self._db.write(lambda conn: conn.execute(RELEASE, {"ids": ids, "until": until}))
            raise
        await self._db.write(lambda conn: _mark(conn, rows))
        return len(rows)

    def _claim_rows(self, conn: Connection, *, cutoff: float, now: float, until: float) -> list[Row]:
        """Lease a batch of due rows to this relay (one short transaction); oldest first."""
        claimed = conn.execute(self._claim, {"cutoff": cutoff, "now": now, "until": until})
        return sorted((dict(r._mapping) for r in claimed), key=lambda r: int(r["id"]))

    async def _publish(self, rows: Sequence[Row]) -> None:
        tasks = [
            OutgoingMessage(
                r["topic"], r["payload"], r["priority"], r["delay_s"], group=_tenant(r["payload"])
            )
            for r in rows
            if r["kind"] == "enqueue"
        ]
        if tasks:
            await self._queue.send_many(tasks)
        events = [events_pb2.JobEvent.FromString(r["payload"]) for r in rows if r["kind"] == "event"]
        if events and self._publisher is not None:
            await self._publisher.publish(events)

    async def _purge_published(self) -> None:
        now = time.time()
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        old = delete(outbox).where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < now - self._retention_s
        )
        await self._db.write(lambda conn: conn.execute(old))


def _tenant(task: bytes) -> str:
    """A StepTask's tenant: its queue message's fairness group (tenants take turns)."""
    return str(step_pb2.StepTask.FromString(task).tenant_id)


def _mark(conn: Connection, rows: Sequence[Row]) -> None:
    if rows:
        ids = [r["id"] for r in rows]
        conn.execute(MARK_PUBLISHED, {"ids": ids, "now": time.time()})
