"""A durable queue in one SQL table: the local profile's stand-in for SQS.

Claiming is one statement: an UPDATE over the best visible rows that sets a new receipt,
bumps the receive count and pushes visible_at out by the lease. On PostgreSQL the candidate
rows are locked with SKIP LOCKED so consumers never block each other; on SQLite the write
transaction (BEGIN IMMEDIATE) serialises claims. A row claimed past its max_receives goes
to the DLQ instead, as SQS's redrive does on the next receive. Within a priority, tenants
take turns (fair.py): the claim records which tenants it served in the same transaction.

Idle consumers look first without the write lock and poll with a backoff; a send wakes
them at once (in this process through an event, in others through the doorbell).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from assetcore.db.database import Database, close_database, open_database
from assetcore.db.schema import queue_messages as qm
from assetcore.queues import fair
from assetcore.queues.base import (
    DLQ_SUFFIX,
    OutgoingMessage,
    QueueDepth,
    QueueError,
    QueueMessage,
    StaleReceipt,
    dlq_name,
)
from assetcore.queues.doorbell import Doorbell, bell_directory

_wakeups: dict[tuple[str, int], asyncio.Event] = {}

# Statements built once (building costs far more than running a cached one).
INSERT = qm.insert().returning(qm.c.id, sort_by_parameter_order=True)
_MINE = and_(qm.c.id == bindparam("b_id"), qm.c.receipt == bindparam("b_receipt"))
DELETE = delete(qm).where(_MINE)
SET_VISIBLE_AT = update(qm).where(_MINE).values(visible_at=bindparam("b_visible_at"))
TO_DLQ = (
    update(qm)
    .where(qm.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(queue=qm.c.queue + DLQ_SUFFIX, receipt=None, visible_at=bindparam("b_now"), receive_count=0)
)
DEAD_LETTER = (
    update(qm)
    .where(_MINE)
    .values(queue=qm.c.queue + DLQ_SUFFIX, receipt=None, visible_at=bindparam("b_now"), receive_count=0)
)


def _claim_statements(queues: tuple[str, ...], lock_rows: bool) -> tuple[Any, Any]:
    """(look, claim) for one list of queues; earlier queues first, then priority, then fair turns."""
    visible = and_(qm.c.queue.in_(queues), qm.c.visible_at <= bindparam("now"))
    look = select(qm.c.id).where(visible).limit(1)
    claim = (
        update(qm)
        .where(qm.c.id.in_(fair.candidates(queues, lock_rows)))
        .values(
            receive_count=qm.c.receive_count + 1,
            visible_at=bindparam("lease_until"),
            receipt=bindparam("receipt"),
        )
        .returning(
            qm.c.id,
            qm.c.queue,
            qm.c.priority,
            qm.c.body,
            qm.c.receive_count,
            qm.c.max_receives,
            qm.c.enqueued_at,
            qm.c.fair_group,
        )
    )
    return look, claim


def _claim_rows(conn: Connection, claim: Any, turns: Any, params: dict[str, Any]) -> list[Any]:
    rows = conn.execute(claim, params).all()
    if rows:
        conn.execute(turns, fair.served(rows, params["now"]))
    exhausted = [r.id for r in rows if r.receive_count > r.max_receives]
    if exhausted:  # received max_receives times already: to the DLQ, as SQS's redrive does
        conn.execute(TO_DLQ, {"b_ids": exhausted, "b_now": time.time()})
    return [r for r in rows if r.id not in exhausted]


def _wakeup_for(url: str) -> asyncio.Event:
    """One event per database and event loop, shared by every queue object on it."""
    key = (url, id(asyncio.get_running_loop()))
    if key not in _wakeups:
        for stale in [k for k in _wakeups if k[1] != key[1]]:
            del _wakeups[stale]  # events of a finished loop (tests run one loop each)
        _wakeups[key] = asyncio.Event()
    return _wakeups[key]


class SqlStepQueue:
    def __init__(
        self,
        url: str,
        *,
        max_receives: int = 5,
        poll_interval_s: float = 0.05,
        max_poll_interval_s: float = 0.5,
    ) -> None:
        self._db: Database = open_database(url)
        # SQLite: consumers in other processes are rung after each send (PostgreSQL: polling).
        self._bell = (
            Doorbell(bell_directory(str(make_url(self._db.url).database))) if self._db.sqlite else None
        )
        self._max_receives = max_receives
        self._poll_interval_s = poll_interval_s
        self._max_poll_interval_s = max_poll_interval_s
        self._idle = True
        self._statements: dict[tuple[str, ...], tuple[Any, Any]] = {}
        self._record_turns = fair.record_turns(self._db.sqlite)

    async def _write(self, fn: Any) -> Any:
        try:
            return await self._db.write(fn)
        except DBAPIError as exc:
            raise QueueError(f"queue database: {exc.orig}") from exc

    async def send(
        self, queue: str, body: bytes, *, priority: int = 0, delay_s: float = 0.0, group: str = ""
    ) -> str:
        return (await self._insert([OutgoingMessage(queue, body, priority, delay_s, group)]))[0]

    async def send_many(self, messages: Sequence[OutgoingMessage]) -> None:
        if messages:
            await self._insert(messages)

    async def _insert(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        for m in messages:
            if len(m.group) > fair.MAX_GROUP_CHARS:
                raise ValueError(f"group {m.group[:20]!r}… is longer than {fair.MAX_GROUP_CHARS} characters")
        now = time.time()
        rows = [
            {
                "queue": m.queue,
                "priority": m.priority,
                "body": m.body,
                "enqueued_at": now,
                "visible_at": now + max(0.0, m.delay_s),
                "receive_count": 0,
                "max_receives": self._max_receives,
                "fair_group": m.group,
            }
            for m in messages
        ]
        ids = await self._write(lambda conn: conn.execute(INSERT, rows).scalars().all())
        self._wake_consumers()
        return [str(i) for i in ids]

    async def receive(
        self, queues: Sequence[str], *, max_messages: int, visibility_timeout_s: float, wait_s: float
    ) -> list[QueueMessage]:
        deadline = time.monotonic() + wait_s
        interval = self._poll_interval_s
        wakeup = _wakeup_for(self._db.url)
        if self._bell is not None:
            self._bell.listen(wakeup.set)
        while True:
            wakeup.clear()
            messages = await self._claim(list(queues), max_messages, visibility_timeout_s)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            try:
                async with asyncio.timeout(min(interval, remaining)):
                    await wakeup.wait()
                interval = self._poll_interval_s
            except TimeoutError:
                interval = min(interval * 2, self._max_poll_interval_s)

    async def _claim(self, queues: list[str], limit: int, visibility_s: float) -> list[QueueMessage]:
        key = tuple(queues)
        if key not in self._statements:
            self._statements[key] = _claim_statements(key, lock_rows=not self._db.sqlite)
        look, claim = self._statements[key]
        now = time.time()
        if self._idle:  # an idle poll looks first, without taking the write lock
            try:
                found = await self._db.read(lambda conn: conn.execute(look, {"now": now}).first())
            except DBAPIError as exc:
                raise QueueError(f"queue database: {exc.orig}") from exc
            if found is None:
                return []
        receipt = uuid.uuid4().hex
        params = {"now": now, "limit": limit, "lease_until": now + visibility_s, "receipt": receipt}
        rows = await self._write(lambda conn: _claim_rows(conn, claim, self._record_turns, params))
        self._idle = not rows
        rows.sort(key=lambda r: (queues.index(r.queue), -r.priority, r.id))  # RETURNING is unordered
        return [
            QueueMessage(
                queue=r.queue,
                message_id=str(r.id),
                receipt=receipt,
                body=r.body,
                receive_count=r.receive_count,
                enqueued_at=r.enqueued_at,
            )
            for r in rows
        ]

    async def _by_receipt(self, message: QueueMessage, statement: Executable, **values: Any) -> None:
        params = {"b_id": int(message.message_id), "b_receipt": message.receipt, **values}
        rowcount = await self._write(lambda conn: conn.execute(statement, params).rowcount)
        if rowcount == 0:
            raise StaleReceipt(f"message {message.message_id} has a newer receipt or is gone")

    async def delete(self, message: QueueMessage) -> None:
        await self._by_receipt(message, DELETE)

    async def change_visibility(self, message: QueueMessage, timeout_s: float) -> None:
        await self._by_receipt(message, SET_VISIBLE_AT, b_visible_at=time.time() + max(0.0, timeout_s))
        if timeout_s <= 0:
            self._wake_consumers()

    async def dead_letter(self, message: QueueMessage) -> None:
        await self._by_receipt(message, DEAD_LETTER, b_now=time.time())

    async def depth(self, queue: str) -> QueueDepth:
        now = time.time()
        in_queue = qm.c.queue == queue
        stmt = select(
            func.count().filter(and_(in_queue, qm.c.visible_at <= now)),
            func.count().filter(and_(in_queue, qm.c.visible_at > now, qm.c.receipt.is_not(None))),
            func.count().filter(and_(in_queue, qm.c.visible_at > now, qm.c.receipt.is_(None))),
            func.count().filter(qm.c.queue == dlq_name(queue)),
        ).where(or_(in_queue, qm.c.queue == dlq_name(queue)))
        visible, in_flight, delayed, dead = await self._db.read(lambda conn: conn.execute(stmt).one())
        return QueueDepth(visible=visible, in_flight=in_flight, delayed=delayed, dead=dead)

    def _wake_consumers(self) -> None:
        _wakeup_for(self._db.url).set()
        if self._bell is not None:
            self._bell.ring()

    async def close(self) -> None:
        if self._bell is not None:
            self._bell.close()
        await close_database(self._db)
