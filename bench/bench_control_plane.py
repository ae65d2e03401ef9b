"""Control-plane benchmark: orchestrator overhead, step handoff, 7-step job throughput.

Local profile (SQLite job store, SQL-table queues in their own SQLite file), noop backends,
the embedded mesh (orchestrator + workers in one process, gRPC over loopback), the load
generator in the same process. Results are printed as JSON; docs/performance.md records them.

    python bench/bench_control_plane.py [--jobs 300] [--concurrency 4] [--celery]

overhead  CreateJob sent -> the first step's message is in its queue (no workers running)
handoff   CompleteStep recorded -> the next step's StartStep recorded (one job at a time)
throughput  7-step jobs per second with many jobs in flight
--celery  the same 7-task chain on Celery with a Redis broker (redis-server on 127.0.0.1)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from assetcore.config import STEP_NAMES, Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.schema import jobs, queue_messages, steps
from assetcore.embedded import deployable, embedded_mesh, local_api_key
from assetcore.proto.v1 import job_pb2, step_pb2
from assetcore.rpc.client import OrchestratorApi


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def settings_for(data_dir: Path, concurrency: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        backends=dict.fromkeys(STEP_NAMES, "noop"),
        worker={"concurrency": concurrency, "progress_interval_s": 0.25},
        max_active_jobs_per_tenant=1_000_000,
        max_jobs_per_tenant_per_day=1_000_000,
    )


def job(i: int) -> job_pb2.JobInput:
    # A distinct seed per job: identical jobs would be answered by the step cache.
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"), pipeline="character", seed=i)
    job.step_options["tti"].update({"ticks": 1})
    return job


async def measure_overhead(data_dir: Path, n: int) -> dict[str, float]:
    settings = settings_for(data_dir, 1)
    key = await local_api_key(settings)
    sent: dict[str, float] = {}
    async with deployable("orchestrator")(settings, address="127.0.0.1:0") as orchestrator:
        api = OrchestratorApi(orchestrator.address)
        for i in range(20):  # warm-up
            await api.create_job(key, job(10_000_000 + i))
        for i in range(n):
            t0 = time.time()
            created = await api.create_job(key, job(i))
            sent[created.job.id] = t0
        await asyncio.sleep(0.5)  # let the relay publish the last ones
        await api.close()
    db = open_database(settings.resolved_queue_url())
    rows = await db.read(
        lambda conn: conn.execute(select(queue_messages.c.body, queue_messages.c.enqueued_at)).all()
    )
    await close_database(db)
    overhead = []
    for body, enqueued_at in rows:
        task = step_pb2.StepTask.FromString(body)
        if task.job_id in sent:
            overhead.append(enqueued_at - sent[task.job_id])
    return summary_ms(overhead)


async def measure_handoff_and_throughput(
    data_dir: Path, n_sequential: int, n_jobs: int, concurrency: int
) -> dict[str, Any]:
    settings = settings_for(data_dir, concurrency)
    async with embedded_mesh(settings) as mesh:
        await mesh.workers.ready.wait()
        api = OrchestratorApi(mesh.orchestrator_address)
        key = mesh.api_key

        async def run_one(i: int) -> str:
            created = await api.create_job(key, job(i))
            async for _ in api.watch_job(key, created.job.id):
                pass
            return created.job.id

        for i in range(10):  # warm-up
            await run_one(20_000_000 + i)
        sequential = [await run_one(30_000_000 + i) for i in range(n_sequential)]

        async def submit_all() -> list[str]:
            ids = []
            for i in range(n_jobs):
                ids.append((await api.create_job(key, job(40_000_000 + i))).job.id)
            return ids

        started = time.perf_counter()
        ids = await submit_all()
        db = open_database(settings.resolved_database_url())
        done_query = select(func.count()).where(jobs.c.id.in_(ids), jobs.c.state == "succeeded")
        while await db.read(lambda conn: conn.execute(done_query).scalar_one()) < n_jobs:
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - started
        timings = (
            select(steps.c.job_id, steps.c.ordinal, steps.c.started_at, steps.c.finished_at)
            .where(steps.c.job_id.in_(sequential))
            .order_by(steps.c.job_id, steps.c.ordinal)
        )
        rows = await db.read(lambda conn: conn.execute(timings).all())
        await close_database(db)
        await api.close()
    handoffs = [
        b.started_at - a.finished_at
        for a, b in itertools.pairwise(rows)
        if a.job_id == b.job_id and b.ordinal == a.ordinal + 1
    ]
    return {
        "handoff": summary_ms(handoffs),
        "throughput_jobs_per_s": round(n_jobs / wall, 2),
        "throughput_steps_per_s": round(7 * n_jobs / wall, 1),
        "throughput_wall_s": round(wall, 2),
        "jobs": n_jobs,
        "worker_concurrency": concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=300, help="jobs for the throughput run")
    parser.add_argument("--overhead-jobs", type=int, default=300)
    parser.add_argument(
        "--handoff-jobs", type=int, default=40, help="jobs run one at a time (6 handoffs each)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="steps in flight in the worker")
    parser.add_argument("--celery", action="store_true", help="also run the Celery + Redis comparison")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as tmp:
        result["overhead"] = asyncio.run(measure_overhead(Path(tmp) / "overhead", args.overhead_jobs))
        result.update(
            asyncio.run(
                measure_handoff_and_throughput(
                    Path(tmp) / "mesh", args.handoff_jobs, args.jobs, args.concurrency
                )
            )
        )
    if args.celery:
        from bench.celery_chain import run_celery_comparison

        celery = run_celery_comparison(args.jobs, args.handoff_jobs)
        result["celery"] = celery
        result["ratio_throughput_assetcore_over_celery"] = round(
            result["throughput_jobs_per_s"] / celery["throughput_jobs_per_s"], 2
        )
        result["ratio_handoff_p50_assetcore_over_celery"] = round(
            result["handoff"]["p50_ms"] / celery["handoff"]["p50_ms"], 2
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
