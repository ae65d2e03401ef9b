"""Queue positions and ETAs from measured step durations.

A step's position is the number of steps of the same kind queued before it. Its ETA is the
time for the steps ahead to drain through the workers seen recently on that step, plus its
own mean duration. Means are exponentially weighted over completed (not cached) steps.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from assetcore.db.schema import step_attempts, step_stats, steps
from assetcore.proto.v1 import job_pb2
from services.orchestrator.states import PENDING, QUEUED, RUNNING

DEFAULT_MEAN_S = 2.0  # before any step of a kind has been measured
EWMA_WEIGHT = 0.2
WORKER_WINDOW_S = 300.0


async def record_duration(conn: AsyncConnection, step: str, duration_s: float, now: float) -> None:
    current = (await conn.execute(select(step_stats).where(step_stats.c.step == step))).first()
    if current is None:
        await conn.execute(insert(step_stats).values(step=step, mean_s=duration_s, samples=1, updated_at=now))
        return
    mean = current.mean_s + EWMA_WEIGHT * (duration_s - current.mean_s)
    await conn.execute(
        update(step_stats)
        .where(step_stats.c.step == step)
        .values(mean_s=mean, samples=current.samples + 1, updated_at=now)
    )


async def _means(conn: AsyncConnection, names: set[str]) -> dict[str, float]:
    rows = await conn.execute(select(step_stats.c.step, step_stats.c.mean_s).where(step_stats.c.step.in_(names)))
    means = {name: DEFAULT_MEAN_S for name in names}
    means.update({r.step: r.mean_s for r in rows})
    return means


async def queue_position(conn: AsyncConnection, step: Mapping[str, Any]) -> int:
    return int(
        (
            await conn.execute(
                select(func.count()).where(
                    steps.c.name == step["name"],
                    steps.c.state == QUEUED,
                    steps.c.queued_at < step["queued_at"],
                )
            )
        ).scalar_one()
    )


async def _workers(conn: AsyncConnection, name: str) -> int:
    count = (
        await conn.execute(
            select(func.count(func.distinct(step_attempts.c.worker_id)))
            .select_from(step_attempts.join(steps, steps.c.id == step_attempts.c.step_id))
            .where(steps.c.name == name, step_attempts.c.started_at >= time.time() - WORKER_WINDOW_S)
        )
    ).scalar_one()
    return max(1, int(count))


async def step_eta(conn: AsyncConnection, step: Mapping[str, Any], position: int) -> float:
    mean = (await _means(conn, {step["name"]}))[step["name"]]
    return (position // await _workers(conn, step["name"]) + 1) * mean


async def estimate(
    conn: AsyncConnection, step_rows: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, job_pb2.QueueInfo], float]:
    """Queue info for each queued step, and the job's remaining time (steps run as a chain)."""
    open_steps = [s for s in step_rows if s["state"] in (PENDING, QUEUED, RUNNING)]
    if not open_steps:
        return {}, 0.0
    means = await _means(conn, {s["name"] for s in open_steps})
    queue: dict[str, job_pb2.QueueInfo] = {}
    remaining = 0.0
    for step in open_steps:
        if step["state"] == QUEUED:
            position = await queue_position(conn, step)
            wait = (position // await _workers(conn, step["name"])) * means[step["name"]]
            queue[step["id"]] = job_pb2.QueueInfo(position=position, eta_seconds=wait + means[step["name"]])
            remaining += wait + means[step["name"]]
        elif step["state"] == RUNNING:
            remaining += means[step["name"]] * (1.0 - step["progress"])
        else:
            remaining += means[step["name"]]
    return queue, remaining
