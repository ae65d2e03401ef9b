"""Write transactions on jobs: run a change, flush its JobTx, then wake watchers and the relay.

`JobWriter.write(fn)` runs `fn(scope)` in one write transaction. `fn` loads the job it
changes through the scope (which locks the job row and remembers the JobTx); the JobTx is
flushed before the commit, and after it the job's watchers are woken and the outbox rows go
to the relay.

No network I/O runs inside the transaction. The one change that needs some, publishing a
finished job's files to the library, raises `library.PublishFirst` in the transaction; the
writer then claims the version and copies the files (library.prepare) with no transaction
open, and runs `fn` again, now with the version prepared (see library.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy import Connection

from assetcore.blobs.base import BlobStore
from assetcore.db.database import Database
from assetcore.errors import Unavailable
from assetcore.events.notifier import JobNotifier
from services.orchestrator import library
from services.orchestrator.jobtx import JobTx, OutboxRow
from services.orchestrator.rows import AttemptRow, JobRow, StepRow

T = TypeVar("T")
# Committed outbox rows (with ids) go to the relay at once; it also polls for any it missed.
OutboxHandoff = Callable[[list[OutboxRow]], None]
PUBLISH_TRIES = 4  # a plan changes between tries only when the job did meanwhile


class Scope:
    """One write transaction (its function runs in the database's thread or greenlet)."""

    __slots__ = ("conn", "now", "prepared", "publish_events", "tx")

    def __init__(
        self, conn: Connection, now: float, prepared: Mapping[str, int], publish_events: bool
    ) -> None:
        self.conn = conn
        self.now = now
        self.prepared = prepared  # plan digest -> version: claimed, files copied (library.prepare)
        self.publish_events = publish_events
        self.tx: JobTx | None = None

    def _use(self, tx: JobTx) -> JobTx:
        if self.tx is not None:
            raise RuntimeError("one job per transaction")
        tx.prepared = self.prepared
        self.tx = tx
        return tx

    def new_job(self, job: JobRow) -> JobTx:
        return self._use(JobTx(self.conn, job, self.now, publish_events=self.publish_events, new=True))

    def job(self, job_id: str, tenant_id: str | None = None) -> JobTx | None:
        tx = JobTx.for_job(
            self.conn, job_id, self.now, publish_events=self.publish_events, tenant_id=tenant_id
        )
        return None if tx is None else self._use(tx)

    def step(self, step_id: str) -> tuple[JobTx, StepRow] | None:
        found = JobTx.for_step(self.conn, step_id, self.now, publish_events=self.publish_events)
        if found is None:
            return None
        self._use(found[0])
        return found

    def attempt(self, attempt_id: str) -> tuple[JobTx, StepRow, AttemptRow] | None:
        found = JobTx.for_attempt(self.conn, attempt_id, self.now, publish_events=self.publish_events)
        if found is None:
            return None
        self._use(found[0])
        return found


class JobWriter:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        notifier: JobNotifier,
        on_outbox: OutboxHandoff,
        *,
        publish_events: bool,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        self.publish_events = publish_events
        self._on_outbox = on_outbox

    async def write(self, fn: Callable[[Scope], T]) -> T:
        """Run fn in a write transaction (again after copying files it asked for first)."""
        prepared: dict[str, int] = {}
        for _ in range(PUBLISH_TRIES):
            try:
                return await self._write_once(fn, prepared)
            except library.PublishFirst as first:
                prepared[first.plan.digest] = await library.prepare(self.db, self.blobs, first.plan)
        raise Unavailable("the job changed while its files were published; retry")

    async def _write_once(self, fn: Callable[[Scope], T], prepared: Mapping[str, int]) -> T:
        scopes: list[Scope] = []

        def body(conn: Connection) -> T:
            scope = Scope(conn, time.time(), prepared, self.publish_events)
            scopes.append(scope)
            result = fn(scope)
            if scope.tx is not None:
                scope.tx.flush()
            return result

        result = await self.db.write(body)
        tx = scopes[-1].tx
        if tx is not None:
            if tx.events:
                self.notifier.notify(tx.job.id)
            if tx.outbox_rows:
                self._on_outbox(tx.outbox_rows)
        return result
