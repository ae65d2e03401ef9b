"""The same 7-step chain on Celery with a Redis broker: the comparison point for the control plane.

Each task appends (start, end) wall times to the list it passes on, so handoff = the next
task's start - this task's end. Celery here keeps no job state, events, costs or lineage:
it is the floor for moving work between steps, not a feature-for-feature equal.

    python -m bench.celery_chain   # needs redis-server on PATH
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from celery import Celery, chain

BROKER = os.environ.get("ASSETCORE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
app = Celery("celery_chain", broker=BROKER, backend=BROKER)
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    result_expires=600,
    broker_connection_retry_on_startup=True,
)
STEPS = 7


@app.task(name="noop_step")
def noop_step(trace: list[list[float]]) -> list[list[float]]:
    started = time.time()
    return [*trace, [started, time.time()]]


def seven_steps() -> Any:
    return chain(noop_step.s([]), *(noop_step.s() for _ in range(STEPS - 1)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready in {timeout_s}s")


def run_celery_comparison(n_jobs: int, n_sequential: int, concurrency: int = 2) -> dict[str, Any]:
    import redis

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "ASSETCORE_BENCH_REDIS": url}
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        server = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
            ],
            stdout=subprocess.DEVNULL,
        )
        worker = None
        try:
            _wait_for(lambda: redis.Redis.from_url(url).ping(), 10, "redis-server")
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "bench.celery_chain",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            app.conf.broker_url = app.conf.result_backend = url
            _wait_for(lambda: bool(app.control.ping(timeout=0.5)), 60, "celery worker")
            for _ in range(10):  # warm-up
                seven_steps().apply_async().get(timeout=30)
            traces = [seven_steps().apply_async().get(timeout=30) for _ in range(n_sequential)]
            handoffs = [b[0] - a[1] for trace in traces for a, b in itertools.pairwise(trace)]
            started = time.perf_counter()
            results = [seven_steps().apply_async() for _ in range(n_jobs)]
            for result in results:
                result.get(timeout=600)
            wall = time.perf_counter() - started
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(30)
            server.terminate()
            server.wait(10)
    handoffs.sort()
    ms = [h * 1000 for h in handoffs]
    return {
        "handoff": {
            "n": len(ms),
            "p50_ms": round(ms[len(ms) // 2], 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * (len(ms) - 1)))], 2),
        },
        "throughput_jobs_per_s": round(n_jobs / wall, 2),
        "worker": f"prefork, concurrency {concurrency}",
    }


if __name__ == "__main__":
    print(json.dumps(run_celery_comparison(200, 40), indent=2))
