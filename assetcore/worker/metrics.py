"""Prometheus metrics of the step-worker runtime (served on ASSETCORE_METRICS_HOST:ASSETCORE_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

STEPS = Counter("assetcore_steps_total", "Step executions by outcome", ["step", "backend", "outcome"])
STEP_SECONDS = Histogram(
    "assetcore_step_duration_seconds",
    "Backend wall time of executed (not cached) steps",
    ["step", "backend"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
IN_FLIGHT = Gauge("assetcore_steps_in_flight", "Steps being executed", ["step"])
CACHE_HITS = Counter("assetcore_step_cache_hits_total", "Steps answered from the step cache", ["step"])
QUEUE_ERRORS = Counter("assetcore_queue_errors_total", "Failed queue operations", ["operation"])
READY = Gauge("assetcore_backend_ready", "1 when the step's backend has loaded", ["step", "backend"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> int:
    """Start the /metrics HTTP endpoint in a background thread; returns the bound port."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)
