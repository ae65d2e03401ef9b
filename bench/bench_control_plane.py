"""Control-plane benchmark: orchestrator overhead, step handoff, 7-step job throughput.

Local profile (SQLite job store, SQL-table queues in their own SQLite file), the probe pipeline
(assetcore/steps/probe.py: seven noop steps shaped like the character pipeline, each through the
step function and its gate).
Processes as deployed: `assetcore serve orchestrator` and one worker node
(`assetcore worker`, the seven steps' consumers) in their own processes, the load generator
in this one, gRPC over loopback. `--embedded` instead runs everything in this one process
(what `assetcore generate` does). Results are printed as JSON; docs/performance.md has them.

    python bench/bench_control_plane.py [--jobs 300] [--concurrency 16] [--celery] [--embedded]

overhead    CreateJob sent -> the first step's message is in its queue (no workers running)
handoff     CompleteStep recorded -> the next step's StartStep recorded (one job at a time)
throughput  7-step jobs per second with every job submitted up front
--celery    the same 7-task chain on Celery with a Redis broker (redis-server on PATH)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetcore.config import Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.schema import jobs, queue_messages, steps
from assetcore.embedded import deployable, embedded_mesh, local_api_key
from assetcore.mesh import free_port, wait_grpc_serving
from assetcore.proto.v1 import job_pb2, step_pb2
from assetcore.rpc.client import OrchestratorApi
from assetcore.steps.catalog import load_catalog

# Seven noop steps shaped like the character pipeline: the control plane's cost, not the steps'.
PROBE = "assetcore.steps.probe"
PROBE_STEPS = list(load_catalog((PROBE,)).pipelines["probe"].step_names)


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


def environment(data_dir: Path, orchestrator: str, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "ASSETCORE_DATA_DIR": str(data_dir),
        "ASSETCORE_ORCHESTRATOR_ADDRESS": orchestrator,
        "ASSETCORE_PLUGINS": json.dumps([PROBE]),
        "ASSETCORE_STEPS": json.dumps(PROBE_STEPS),
        "ASSETCORE_WORKER__CONCURRENCY": str(concurrency),
        "ASSETCORE_MAX_ACTIVE_JOBS_PER_TENANT": "1000000",
        "ASSETCORE_MAX_JOBS_PER_TENANT_PER_DAY": "1000000",
        "ASSETCORE_RATE_LIMITS__KEY_BURST": "1000000",  # jobs are submitted up front
        "ASSETCORE_RATE_LIMITS__TENANT_BURST": "1000000",
        "ASSETCORE_LOG_LEVEL": "WARNING",
    }


def settings_for(data_dir: Path, concurrency: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        plugins=[PROBE],
        steps=PROBE_STEPS,
        worker={"concurrency": concurrency},
        max_active_jobs_per_tenant=1_000_000,
        max_jobs_per_tenant_per_day=1_000_000,
        rate_limits={"key_burst": 1_000_000, "tenant_burst": 1_000_000},
    )


def job(i: int) -> job_pb2.JobInput:
    # A distinct seed per job: identical jobs would be answered by the step cache.
    return job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"), pipeline="probe", seed=i)


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    # The children's stdout carries their EMF metric lines; this process's stdout is the result.
    child = subprocess.Popen(
        [sys.executable, "-m", "assetcore.cli", *command], env=env, stdout=subprocess.DEVNULL
    )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(60)


@contextlib.asynccontextmanager
async def deployed(data_dir: Path, concurrency: int, *, workers: bool) -> AsyncIterator[str]:
    """The orchestrator (and a worker node) as processes; yields the orchestrator's address."""
    address = f"127.0.0.1:{free_port()}"
    env = environment(data_dir, address, concurrency)
    with process(["serve", "orchestrator"], env):
        await wait_grpc_serving(address, "")
        if not workers:
            yield address
            return
        with process(["worker"], env):
            yield address


@contextlib.asynccontextmanager
async def embedded(data_dir: Path, concurrency: int, *, workers: bool) -> AsyncIterator[str]:
    settings = settings_for(data_dir, concurrency)
    if not workers:
        async with deployable("orchestrator")(settings, address="127.0.0.1:0") as orchestrator:
            yield orchestrator.address
        return
    async with embedded_mesh(settings) as mesh:
        yield mesh.orchestrator_address


async def run_job(api: OrchestratorApi, key: str, i: int) -> str:
    created = await api.create_job(key, job(i))
    async for _ in api.watch_job(key, created.job.id):
        pass
    return created.job.id


async def measure_overhead(data_dir: Path, n: int, layout: Any) -> dict[str, float]:
    settings = settings_for(data_dir, 1)
    key = await local_api_key(settings)
    sent: dict[str, float] = {}
    async with layout(data_dir, 1, workers=False) as address:
        api = OrchestratorApi(address)
        for i in range(20):  # warm-up
            await api.create_job(key, job(10_000_000 + i))
        for i in range(n):
            started = time.time()
            sent[(await api.create_job(key, job(i))).job.id] = started
        await asyncio.sleep(0.5)  # the last hand-overs reach the queue
        await api.close()
    db = open_database(settings.resolved_queue_url())
    rows = await db.read(
        lambda conn: conn.execute(select(queue_messages.c.body, queue_messages.c.enqueued_at)).all()
    )
    await close_database(db)
    overhead = []
    for body, enqueued_at in rows:
        task_job = step_pb2.StepTask.FromString(body).job_id
        if task_job in sent:
            overhead.append(enqueued_at - sent[task_job])
    return summary_ms(overhead)


async def measure_handoff_and_throughput(
    data_dir: Path, n_sequential: int, n_jobs: int, concurrency: int, layout: Any
) -> dict[str, Any]:
    settings = settings_for(data_dir, concurrency)
    key = await local_api_key(settings)
    async with layout(data_dir, concurrency, workers=True) as address:
        api = OrchestratorApi(address)
        for i in range(10):  # warm-up
            await run_job(api, key, 20_000_000 + i)
        sequential = [await run_job(api, key, 30_000_000 + i) for i in range(n_sequential)]
        started = time.perf_counter()
        ids = [(await api.create_job(key, job(40_000_000 + i))).job.id for i in range(n_jobs)]
        db = open_database(settings.resolved_database_url())
        done_query = select(func.count()).where(jobs.c.id.in_(ids), jobs.c.state == "succeeded")
        while await db.read(lambda conn: conn.execute(done_query).scalar_one()) < n_jobs:
            await asyncio.sleep(0.05)
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
    parser.add_argument("--concurrency", type=int, default=16, help="steps in flight in the worker node")
    parser.add_argument("--embedded", action="store_true", help="everything in this one process")
    parser.add_argument("--celery", action="store_true", help="also run the Celery + Redis comparison")
    args = parser.parse_args()
    layout = embedded if args.embedded else deployed
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "layout": "embedded (one process)" if args.embedded else "orchestrator + worker node processes",
    }
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as tmp:
        result["overhead"] = asyncio.run(measure_overhead(Path(tmp) / "overhead", args.overhead_jobs, layout))
        result.update(
            asyncio.run(
                measure_handoff_and_throughput(
                    Path(tmp) / "mesh", args.handoff_jobs, args.jobs, args.concurrency, layout
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
