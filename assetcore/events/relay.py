"""The outbox relay: publishes committed outbox rows, in order, at least once.

Step tasks go to their step's queue, events to the event bus. A row is marked published
only after its publish succeeded, so a crash in between republishes it: consumers are
idempotent (StartStep skips stale or finished steps; events carry a per-job sequence).
On PostgreSQL several relays may run: rows are claimed with SKIP LOCKED while published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assetcore.db.engine import is_sqlite, reading

from assetcore.db.schema import outbox
from assetcore.events.base import EventPublisher
from assetcore.proto.v1 import events_pb2
from assetcore.queues.base import StepQueue

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        queue: StepQueue,
        publisher: EventPublisher | None,
        *,
        batch_size: int = 200,
        idle_poll_s: float = 1.0,
        retention_s: float = 3600.0,
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_poll_s = idle_poll_s
        self._retention_s = retention_s
        self._wakeup = asyncio.Event()
        self._last_purge = 0.0
        self._claim_with_locks = not is_sqlite(str(engine.url))

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Publish until cancelled; errors (queue unreachable) back off and retry."""
        failures = 0
        while True:
            self._wakeup.clear()
            try:
                published = await self.publish_batch()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if published < self._batch_size:
                await self._purge_published()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._idle_poll_s)

    async def publish_batch(self) -> int:
        if self._claim_with_locks:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(self._pending().with_for_update(skip_locked=True))).all()
                await self._publish(rows)
                await self._mark(conn, rows)
            return len(rows)
        # SQLite locks the whole database: never hold it while publishing (the queue may live in
        # the same file). One orchestrator process owns a SQLite store, so nobody else claims rows.
        async with reading(self._engine) as conn:
            rows = (await conn.execute(self._pending())).all()
        await self._publish(rows)
        async with self._engine.begin() as conn:
            await self._mark(conn, rows)
        return len(rows)

    def _pending(self) -> Select[Any]:
        return select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(self._batch_size)

    async def _publish(self, rows: Sequence[Row[Any]]) -> None:
        events = []
        for row in rows:
            if row.kind == "enqueue":
                await self._queue.send(row.topic, row.payload, priority=row.priority, delay_s=row.delay_s)
            else:
                events.append(events_pb2.JobEvent.FromString(row.payload))
        if events and self._publisher is not None:
            await self._publisher.publish(events)

    @staticmethod
    async def _mark(conn: AsyncConnection, rows: Sequence[Row[Any]]) -> None:
        if rows:
            await conn.execute(
                update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(published_at=time.time())
            )

    async def _purge_published(self) -> None:
        now = time.time()
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < now - self._retention_s)
            )
