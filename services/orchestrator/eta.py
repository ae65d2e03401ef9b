"""Queue positions and ETAs from measured step durations.

A step's position is the number of steps of the same kind queued before it. Its ETA is the
time for the steps ahead to drain through the workers seen recently on that step, plus its
own mean duration. Means are exponentially weighted over completed (not cached) steps and
kept in the database; `EtaModel` caches them and the worker counts for a few seconds, so an
ETA costs one indexed count, not three queries, and a finished step does not always write.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, bindparam, func, insert, select, update

from assetcore.db.schema import step_attempts, step_stats, steps
from assetcore.proto.v1 import job_pb2
from services.orchestrator.rows import StepRow
from services.orchestrator.states import PENDING, QUEUED, RUNNING

DEFAULT_MEAN_S = 2.0  # before any step of a kind has been measured
EWMA_WEIGHT = 0.2
WORKER_WINDOW_S = 300.0
CACHE_TTL_S = 5.0
SAVE_INTERVAL_S = 1.0


SAVE_MEAN = update(step_stats).where(step_stats.c.step == bindparam("b_step"))  # SET: the parameters
INSERT_MEAN = insert(step_stats)
QUEUED_AHEAD = select(func.count()).where(
    steps.c.name == bindparam("name"), steps.c.state == QUEUED, steps.c.queued_at < bindparam("queued_at")
)
MEANS = select(step_stats.c.step, step_stats.c.mean_s, step_stats.c.samples)
WORKERS_SINCE = (
    select(steps.c.name, func.count(func.distinct(step_attempts.c.worker_id)))
    .select_from(step_attempts.join(steps, steps.c.id == step_attempts.c.step_id))
    .where(step_attempts.c.started_at >= bindparam("since"))
    .group_by(steps.c.name)
)


def queue_position(conn: Connection, step: StepRow) -> int:
    """How many steps of the same kind were queued before this one and still wait."""
    return int(conn.execute(QUEUED_AHEAD, {"name": step.name, "queued_at": step.queued_at}).scalar_one())


class EtaModel:
    """Step means and active worker counts, refreshed from the database every few seconds."""

    def __init__(self) -> None:
        self._means: dict[str, float] = {}
        self._samples: dict[str, int] = {}
        self._saved_at: dict[str, float] = {}
        self._workers: dict[str, int] = {}
        self._loaded_at = -CACHE_TTL_S

    def observe(self, conn: Connection, step: str, duration_s: float, now: float) -> None:
        """Fold a measured (not cached) step duration into the mean; save it at most once a second."""
        self._refresh(conn)
        mean = self._means.get(step)
        self._means[step] = duration_s if mean is None else mean + EWMA_WEIGHT * (duration_s - mean)
        self._samples[step] = self._samples.get(step, 0) + 1
        if now - self._saved_at.get(step, 0.0) < SAVE_INTERVAL_S:
            return
        self._saved_at[step] = now
        values = {"mean_s": self._means[step], "samples": self._samples[step], "updated_at": now}
        if conn.execute(SAVE_MEAN, {"b_step": step, **values}).rowcount == 0:
            conn.execute(INSERT_MEAN, {"step": step, **values})

    def _refresh(self, conn: Connection) -> None:
        now = time.monotonic()
        if now - self._loaded_at < CACHE_TTL_S:
            return
        for row in conn.execute(MEANS):
            self._means[row.step] = row.mean_s  # saved means (also other replicas') win
            self._samples[row.step] = max(self._samples.get(row.step, 0), row.samples)
        rows = conn.execute(WORKERS_SINCE, {"since": time.time() - WORKER_WINDOW_S})
        self._workers = {name: int(count) for name, count in rows}
        self._loaded_at = now

    def _mean(self, name: str) -> float:
        return self._means.get(name, DEFAULT_MEAN_S)

    def _wait(self, name: str, position: int) -> float:
        return (position // max(1, self._workers.get(name, 1))) * self._mean(name)

    def step_eta(self, conn: Connection, name: str, position: int) -> float:
        self._refresh(conn)
        return self._wait(name, position) + self._mean(name)

    def queue_info(self, conn: Connection, step_rows: Sequence[StepRow]) -> dict[str, job_pb2.QueueInfo]:
        """Position and ETA of each queued step."""
        self._refresh(conn)
        queue = {}
        for step in step_rows:
            if step.state == QUEUED:
                position = queue_position(conn, step)
                eta_s = self._wait(step.name, position) + self._mean(step.name)
                queue[step.id] = job_pb2.QueueInfo(position=position, eta_seconds=eta_s)
        return queue

    def remaining(self, step_rows: Sequence[StepRow], queue: Mapping[str, job_pb2.QueueInfo]) -> float:
        """The job's remaining time: its steps run as a chain (queued ones wait their turn)."""
        total = 0.0
        for step in step_rows:
            mean = self._mean(step.name)
            if step.state == QUEUED:
                total += queue[step.id].eta_seconds if step.id in queue else mean
            elif step.state == RUNNING:
                total += mean * (1.0 - step.progress)
            elif step.state == PENDING:
                total += mean
        return total
