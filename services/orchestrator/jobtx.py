"""One job's changes in one transaction.

A state change, the events announcing it, its transition records and the commands to
enqueue the next steps are written together (the transactional outbox): either all of them
commit or none does, so a crash at any point loses nothing and invents nothing.

Changes are collected in memory and written by `flush()`: one statement per changed row
or table, which matters on the hot path (every step start, progress report and result).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Connection, bindparam, insert, select, update

from assetcore.db.schema import job_events, job_transitions, jobs, outbox, step_attempts, steps
from assetcore.proto.v1 import events_pb2, step_pb2

Dict = dict[str, Any]
# Progress events are frequent: they go to the job's event log (WatchJob) but not to the bus.
BUS_EXCLUDED_EVENTS = frozenset({"progress"})
_PREFIXES = {"j": jobs, "s": steps, "a": step_attempts}


def timestamp(at: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(at * 1e9))
    return ts


def loads_list(text: str | None) -> list[Any]:
    return list(json.loads(text)) if text else []


def _labelled(*prefixes: str) -> list[Any]:
    return [column.label(f"{p}_{column.name}") for p in prefixes for column in _PREFIXES[p].c]


_COLUMNS = {p: [(f"{p}_{c.name}", c.name) for c in table.c] for p, table in _PREFIXES.items()}


def _split(row: Any, prefix: str) -> Dict:
    mapping = row._mapping
    return {name: mapping[label] for label, name in _COLUMNS[prefix]}


# Statements of the hot path, built once: building a SQLAlchemy statement costs far more than
# running a cached one. Job rows are locked (PostgreSQL); SQLite's write transaction already
# excludes other writers.
JOB = select(jobs).where(jobs.c.id == bindparam("job_id")).with_for_update()
TENANT_JOB = JOB.where(jobs.c.tenant_id == bindparam("tenant_id"))
JOB_AND_STEP = (
    select(*_labelled("j", "s"))
    .join(jobs, jobs.c.id == steps.c.job_id)
    .where(steps.c.id == bindparam("step_id"))
    .with_for_update(of=jobs)
)
JOB_STEP_AND_ATTEMPT = (
    select(*_labelled("j", "s", "a"))
    .select_from(step_attempts)
    .join(steps, steps.c.id == step_attempts.c.step_id)
    .join(jobs, jobs.c.id == steps.c.job_id)
    .where(step_attempts.c.id == bindparam("attempt_id"))
    .with_for_update(of=jobs)
)
INSERT_JOB = insert(jobs)
INSERT_STEPS = insert(steps)
UPDATE_JOB = update(jobs).where(jobs.c.id == bindparam("b_id"))  # SET: the keys of the parameters
UPDATE_STEP = update(steps).where(steps.c.id == bindparam("b_id"))
INSERT_EVENTS = insert(job_events)
INSERT_OUTBOX = insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)
INSERT_OUTBOX_ROW = insert(outbox).returning(outbox.c.id)
INSERT_TRANSITIONS = insert(job_transitions)


class JobTx:
    def __init__(
        self, conn: Connection, job: Dict, now: float, *, publish_events: bool, new: bool = False
    ) -> None:
        """`publish_events`: also write events to the outbox for the bus (when there is one)."""
        self.conn = conn
        self.job = job
        self.now = now
        self.new = new
        self.events: list[events_pb2.JobEvent] = []
        self.outbox_rows: list[Dict] = []
        self._publish_events = publish_events
        self._job_changes: Dict = {}
        self._step_changes: dict[str, Dict] = {}
        self._new_steps: list[Dict] = []
        self._transitions: list[Dict] = []

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
            row = conn.execute(JOB, {"job_id": job_id}).mappings().first()
        else:
            row = conn.execute(TENANT_JOB, {"job_id": job_id, "tenant_id": tenant_id}).mappings().first()
        return None if row is None else cls(conn, dict(row), now, publish_events=publish_events)

    @classmethod
    def for_step(
        cls, conn: Connection, step_id: str, now: float, *, publish_events: bool
    ) -> tuple[JobTx, Dict] | None:
        """The job (locked) and the step, in one statement."""
        row = conn.execute(JOB_AND_STEP, {"step_id": step_id}).first()
        if row is None:
            return None
        return cls(conn, _split(row, "j"), now, publish_events=publish_events), _split(row, "s")

    @classmethod
    def for_attempt(
        cls, conn: Connection, attempt_id: str, now: float, *, publish_events: bool
    ) -> tuple[JobTx, Dict, Dict] | None:
        """The job (locked), the step and the attempt, in one statement."""
        row = conn.execute(JOB_STEP_AND_ATTEMPT, {"attempt_id": attempt_id}).first()
        if row is None:
            return None
        tx = cls(conn, _split(row, "j"), now, publish_events=publish_events)
        return tx, _split(row, "s"), _split(row, "a")

    # -- changes ------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return str(self.job["state"])

    def emit(self, step: Dict | None = None, **kind: Any) -> events_pb2.JobEvent:
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
            self._transition(None, self.job["state"], state)
            fields["state"] = state
        self.job.update(fields)
        self._job_changes.update(fields)

    def set_step(self, step: Dict, state: str | None = None, **fields: Any) -> None:
        """Change a step (and the caller's dict of it), recording a state transition."""
        if state is not None and state != step["state"]:
            self._transition(step["name"], step["state"], state)
            fields["state"] = state
        step.update(fields)
        if not self.new:
            self._step_changes.setdefault(step["id"], {}).update(fields)

    def add_steps(self, rows: Sequence[Dict]) -> None:
        """Steps of a new job: inserted by flush() in their final state."""
        self._new_steps.extend(rows)

    def _transition(self, step_name: str | None, from_state: str, to_state: str) -> None:
        self._transitions.append(
            {"job_id": self.job["id"], "step_name": step_name, "from_state": from_state, "to_state": to_state}
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
        now = self.now
        if self.new:
            self.conn.execute(INSERT_JOB, {**self.job, "updated_at": now})
            self.conn.execute(INSERT_STEPS, self._new_steps)
        elif self._job_changes:
            self.conn.execute(UPDATE_JOB, {"b_id": self.job["id"], "updated_at": now, **self._job_changes})
        for step_id, fields in self._step_changes.items():
            self.conn.execute(UPDATE_STEP, {"b_id": step_id, **fields})
        if self.events:
            self.conn.execute(
                INSERT_EVENTS,
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
            row["id"] = self.conn.execute(INSERT_OUTBOX_ROW, {**row, "created_at": now}).scalar_one()
        elif self.outbox_rows:
            rows = [{**r, "created_at": now} for r in self.outbox_rows]
            ids = self.conn.execute(INSERT_OUTBOX, rows).scalars().all()
            for row, row_id in zip(self.outbox_rows, ids, strict=True):
                row["id"] = row_id
        if self._transitions:
            self.conn.execute(INSERT_TRANSITIONS, [{**t, "at": now} for t in self._transitions])
