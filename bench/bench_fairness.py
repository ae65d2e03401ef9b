"""Fairness benchmark: a flood of mutations from one key vs another tenant's jobs.

Tenant A's key sends `--flood` mutations as fast as it can; each one the rate limiter admits
enqueues a step message for A. Meanwhile tenant B submits `--jobs` jobs, one every
`--interval-s`, each through the same limiter and queue. One consumer claims one message at a
time and "works" `--service-ms` on it. Reported: how many of A's mutations were admitted, and
B's queue wait (enqueue -> claim) p50/p95, with and without the flood. The rate limiter and the
SQL queue are the real ones, on one SQLite file (the local profile's layout, in one process).

    python bench/bench_fairness.py [--flood 10000] [--jobs 20] [--interval-s 0.25] [--service-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetcore.config import RateLimits
from assetcore.db.database import close_database, open_database
from assetcore.db.migrate import upgrade
from assetcore.errors import RateLimited
from assetcore.queues.sql import SqlStepQueue
from services.orchestrator.principal import Principal
from services.orchestrator.rate_limits import RateLimiter

A = Principal("ten_a", "prj_a", "editor", "key_a")
B = Principal("ten_b", "prj_b", "editor", "key_b")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def run(flood: int, jobs: int, interval_s: float, service_s: float) -> dict[str, float]:
    url = f"sqlite:///{tempfile.mkdtemp(prefix='fairness-')}/assetcore.db"
    await upgrade(url)
    db = open_database(url)
    limiter = RateLimiter(db, RateLimits())
    queue = SqlStepQueue(url)
    sent_at: dict[bytes, float] = {}
    waits: list[float] = []
    admitted = 0
    b_admitted = 0

    async def submit(principal: Principal, body: bytes) -> bool:
        try:
            await limiter.admit(principal)
        except RateLimited:
            return False
        sent_at[body] = time.monotonic()
        await queue.send("tti", body, group=principal.tenant_id)
        return True

    async def flooder() -> None:
        nonlocal admitted
        for i in range(flood):
            admitted += await submit(A, f"a{i}".encode())

    async def tenant_b() -> None:
        nonlocal b_admitted
        for i in range(jobs):
            b_admitted += await submit(B, f"b{i}".encode())
            await asyncio.sleep(interval_s)

    async def consumer(done: asyncio.Event) -> None:
        while not (done.is_set() and not waits_pending()):
            got = await queue.receive(["tti"], max_messages=1, visibility_timeout_s=60, wait_s=0.2)
            for message in got:
                if message.body.startswith(b"b"):
                    waits.append(time.monotonic() - sent_at[message.body])
                await asyncio.sleep(service_s)
                await queue.delete(message)

    def waits_pending() -> bool:
        return len(waits) < b_admitted

    done = asyncio.Event()
    worker = asyncio.create_task(consumer(done))
    await asyncio.gather(flooder(), tenant_b())
    done.set()
    await worker
    await queue.close()
    await close_database(db)
    return {
        "flood_mutations": flood,
        "flood_admitted": admitted,
        "b_jobs": jobs,
        "b_admitted": b_admitted,
        "b_wait_p50_ms": round(statistics.median(waits) * 1000, 1),
        "b_wait_p95_ms": round(percentile(waits, 95) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--interval-s", type=float, default=0.25)
    parser.add_argument("--service-ms", type=float, default=20.0)
    args = parser.parse_args()
    service_s = args.service_ms / 1000
    results = {
        "without_flood": asyncio.run(run(0, args.jobs, args.interval_s, service_s)),
        "with_flood": asyncio.run(run(args.flood, args.jobs, args.interval_s, service_s)),
        "rate_limits": RateLimits().model_dump(),
        "service_ms": args.service_ms,
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
