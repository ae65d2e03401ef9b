"""One job's changes in one transaction.

A state change, the events announcing it, its transition records and the commands to
enqueue the next steps are written together (the transactional outbox): either all of them
commit or none does, so a crash at any point loses nothing and invents nothing.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from assetcore.db.schema import job_events, job_transitions, jobs, outbox, steps
from assetcore.proto.v1 import events_pb2, step_pb2

# Progress events are frequent: they go to the job's event log (WatchJob) but not to the bus.
BUS_EXCLUDED_EVENTS = frozenset({"progress"})


def timestamp(at: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(at * 1e9))
    return ts


class JobTx:
    def __init__(self, conn: AsyncConnection, job: Row[Any], now: float) -> None:
        self.conn = conn
        self.job = dict(job._mapping)
        self.now = now
        self.events: list[events_pb2.JobEvent] = []
        self.enqueued = 0
        self._job_changes: dict[str, Any] = {}
        self._transitions: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []

    @classmethod
    async def lock(
        cls, conn: AsyncConnection, job_id: str, now: float, *, tenant_id: str | None = None
    ) -> JobTx | None:
        """Load and lock the job row (serialising every change to one job)."""
        query = select(jobs).where(jobs.c.id == job_id).with_for_update()
        if tenant_id is not None:
            query = query.where(jobs.c.tenant_id == tenant_id)
        row = (await conn.execute(query)).first()
        return None if row is None else cls(conn, row, now)

    @property
    def state(self) -> str:
        return str(self.job["state"])

    def emit(self, step: dict[str, Any] | None = None, **kind: Any) -> events_pb2.JobEvent:
        """Append an event (exactly one oneof field as keyword) to the job's log."""
        self.job["event_seq"] += 1
        event = events_pb2.JobEvent(
            job_id=self.job["id"],
            sequence=self.job["event_seq"],
            at=timestamp(self.now),
            tenant_id=self.job["tenant_id"],
            step_id=step["id"] if step else "",
            step_name=step["name"] if step else "",
            **kind,
        )
        self.events.append(event)
        self._job_changes["event_seq"] = self.job["event_seq"]
        return event

    def set_job(self, state: str | None = None, **fields: Any) -> None:
        if state is not None and state != self.job["state"]:
            self._transitions.append(
                {"job_id": self.job["id"], "step_name": None, "from_state": self.job["state"], "to_state": state}
            )
            fields["state"] = state
        self.job.update(fields)
        self._job_changes.update(fields)

    async def set_step(self, step: dict[str, Any], state: str | None = None, **fields: Any) -> None:
        """Update a step row (and the caller's dict of it), recording a state transition."""
        if state is not None and state != step["state"]:
            self._transitions.append(
                {"job_id": self.job["id"], "step_name": step["name"], "from_state": step["state"], "to_state": state}
            )
            fields["state"] = state
        if not fields:
            return
        step.update(fields)
        await self.conn.execute(update(steps).where(steps.c.id == step["id"]).values(**fields))

    def enqueue(self, task: step_pb2.StepTask, priority: int, delay_s: float = 0.0) -> None:
        self._outbox.append(
            {
                "kind": "enqueue",
                "topic": task.step_name,
                "payload": task.SerializeToString(),
                "priority": priority,
                "delay_s": delay_s,
            }
        )
        self.enqueued += 1

    async def flush(self) -> None:
        """Write the job row, log, transitions and outbox. Call last, inside the transaction."""
        now = self.now
        if self._job_changes:
            await self.conn.execute(
                update(jobs).where(jobs.c.id == self.job["id"]).values(updated_at=now, **self._job_changes)
            )
        if self.events:
            await self.conn.execute(
                insert(job_events),
                [
                    {"job_id": e.job_id, "seq": e.sequence, "at": now, "payload": e.SerializeToString()}
                    for e in self.events
                ],
            )
        bus_rows = [
            {"kind": "event", "topic": kind, "payload": e.SerializeToString(), "priority": 0, "delay_s": 0.0}
            for e in self.events
            if (kind := e.WhichOneof("kind")) not in BUS_EXCLUDED_EVENTS
        ]
        rows = [{**r, "created_at": now} for r in [*self._outbox, *bus_rows]]
        if rows:
            await self.conn.execute(insert(outbox), rows)
        if self._transitions:
            await self.conn.execute(insert(job_transitions), [{**t, "at": now} for t in self._transitions])


def loads_list(text: str | None) -> list[Any]:
    return list(json.loads(text)) if text else []
