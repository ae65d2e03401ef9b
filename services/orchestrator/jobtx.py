"""One job's changes in one transaction.

A state change, the events announcing it, its transition records and the commands to
enqueue the next steps are written together (the transactional outbox): either all of them
commit or none does, so a crash at any point loses nothing and invents nothing.

Changes are collected in memory and written by `flush()`: one statement per changed row
or table, which matters on the hot path (every step start, progress report and result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from assetcore.proto.v1 import events_pb2, step_pb2
from services.orchestrator import store
from services.orchestrator.convert import timestamp
from services.orchestrator.rows import AttemptRow, JobRow, StepRow, values

# Progress events are frequent: they go to the job's event log (WatchJob) but not to the bus.
BUS_EXCLUDED_EVENTS = frozenset({"progress"})
OutboxRow = dict[str, Any]  # the outbox table's values; "id" is added by flush()


class JobTx:
    def __init__(
        self, conn: Connection, job: JobRow, now: float, *, publish_events: bool, new: bool = False
    ) -> None:
        """`publish_events`: also write events to the outbox for the bus (when there is one).
        `new`: the job and the steps given to add_steps are inserted, not updated."""
        self.conn = conn
        self.job = job
        self.now = now
        self.new = new
        self.events: list[events_pb2.JobEvent] = []
        self.outbox_rows: list[OutboxRow] = []
        # Library versions prepared before this transaction: plan digest -> version (library.py).
        self.prepared: Mapping[str, int] = {}
        self._publish_events = publish_events
        self._job_changes: dict[str, Any] = {}
        self._step_changes: dict[str, dict[str, Any]] = {}
        self._new_steps: list[StepRow] = []
        self._transitions: list[dict[str, Any]] = []

    # -- loading with the job row locked ------------------------------------------------------

    @classmethod
    def for_job(
        cls,
        conn: Connection,
        job_id: str,
        now: float,
        *,
        publish_events: bool,
        tenant_id: str | None = None,
    ) -> JobTx | None:
        if tenant_id is None:
            row = conn.execute(store.JOB_FOR_UPDATE, {"job_id": job_id}).first()
        else:
            row = conn.execute(
                store.TENANT_JOB_FOR_UPDATE, {"job_id": job_id, "tenant_id": tenant_id}
            ).first()
        return None if row is None else cls(conn, store.job_from(row), now, publish_events=publish_events)

    @classmethod
    def for_step(
        cls, conn: Connection, step_id: str, now: float, *, publish_events: bool
    ) -> tuple[JobTx, StepRow] | None:
        """The job (locked) and the step, in one statement."""
        row = conn.execute(store.JOB_AND_STEP_FOR_UPDATE, {"step_id": step_id}).first()
        if row is None:
            return None
        job, step = store.job_and_step(row)
        return cls(conn, job, now, publish_events=publish_events), step

    @classmethod
    def for_attempt(
        cls, conn: Connection, attempt_id: str, now: float, *, publish_events: bool
    ) -> tuple[JobTx, StepRow, AttemptRow] | None:
        """The job (locked), the step and the attempt, in one statement."""
        row = conn.execute(store.JOB_STEP_AND_ATTEMPT_FOR_UPDATE, {"attempt_id": attempt_id}).first()
        if row is None:
            return None
        job, step, attempt = store.job_step_and_attempt(row)
        return cls(conn, job, now, publish_events=publish_events), step, attempt

    # -- changes ------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.job.state

    def emit(self, step: StepRow | None = None, **kind: Any) -> events_pb2.JobEvent:
        """Append an event (exactly one oneof field as keyword) to the job's log."""
        job = self.job
        job.event_seq += 1
        event = events_pb2.JobEvent(
            job_id=job.id,
            sequence=job.event_seq,
            at=timestamp(self.now),
            tenant_id=job.tenant_id,
            step_id=step.id if step else "",
            step_name=step.name if step else "",
            **kind,
        )
        self.events.append(event)
        self._job_changes["event_seq"] = job.event_seq
        return event

    def set_job(self, state: str | None = None, **fields: Any) -> None:
        """Change the job row (an unknown field name raises AttributeError)."""
        if state is not None and state != self.job.state:
            self._transition(None, self.job.state, state)
            fields["state"] = state
        for name, value in fields.items():
            setattr(self.job, name, value)
        self._job_changes.update(fields)

    def set_step(self, step: StepRow, state: str | None = None, **fields: Any) -> None:
        """Change a step (the caller's row object), recording a state transition."""
        if state is not None and state != step.state:
            self._transition(step.name, step.state, state)
            fields["state"] = state
        for name, value in fields.items():
            setattr(step, name, value)
        if not self.new:
            self._step_changes.setdefault(step.id, {}).update(fields)

    def add_steps(self, rows: Sequence[StepRow]) -> None:
        """Steps of a new job: inserted by flush() in their final state."""
        self._new_steps.extend(rows)

    def _transition(self, step_name: str | None, from_state: str, to_state: str) -> None:
        self._transitions.append(
            {"job_id": self.job.id, "step_name": step_name, "from_state": from_state, "to_state": to_state}
        )

    def enqueue(self, task: step_pb2.StepTask, priority: int, delay_s: float = 0.0) -> None:
        self.outbox_rows.append(
            {
                "kind": "enqueue",
                "topic": task.step_name,
                "payload": task.SerializeToString(),
                "priority": priority,
                "delay_s": delay_s,
            }
        )

    def flush(self) -> None:
        """Write everything collected. Call last, inside the transaction."""
        now, conn = self.now, self.conn
        if self.new:
            conn.execute(store.INSERT_JOB, {**values(self.job), "updated_at": now})
            conn.execute(store.INSERT_STEPS, [values(s) for s in self._new_steps])
        elif self._job_changes:
            conn.execute(store.UPDATE_JOB, {"b_id": self.job.id, "updated_at": now, **self._job_changes})
        for step_id, fields in self._step_changes.items():
            conn.execute(store.UPDATE_STEP, {"b_id": step_id, **fields})
        if self.events:
            conn.execute(
                store.INSERT_EVENTS,
                [
                    {"job_id": e.job_id, "seq": e.sequence, "at": now, "payload": e.SerializeToString()}
                    for e in self.events
                ],
            )
        if self._publish_events:
            self.outbox_rows.extend(
                {
                    "kind": "event",
                    "topic": kind,
                    "payload": e.SerializeToString(),
                    "priority": 0,
                    "delay_s": 0.0,
                }
                for e in self.events
                if (kind := e.WhichOneof("kind")) not in BUS_EXCLUDED_EVENTS
            )
        if len(self.outbox_rows) == 1:  # the common case: skips the multi-row RETURNING machinery
            row = self.outbox_rows[0]
            row["id"] = conn.execute(store.INSERT_OUTBOX_ROW, {**row, "created_at": now}).scalar_one()
        elif self.outbox_rows:
            rows = [{**r, "created_at": now} for r in self.outbox_rows]
            ids = conn.execute(store.INSERT_OUTBOX, rows).scalars().all()
            for row, row_id in zip(self.outbox_rows, ids, strict=True):
                row["id"] = row_id
        if self._transitions:
            conn.execute(store.INSERT_TRANSITIONS, [{**t, "at": now} for t in self._transitions])
