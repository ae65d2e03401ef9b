"""CloudWatch embedded metric format (EMF): metrics as JSON log lines, no agent or API call.

On ECS the container's stdout goes to CloudWatch Logs (the awslogs driver), which turns each
line that is an EMF object into metric data. The step dashboards (deploy/stacks/steps.py)
graph `AssetCore/StepDuration` (seconds, dimension `Step`); workers write one such line per
executed step (cache hits excluded), the same numbers as the Prometheus histogram
assetcore_step_duration_seconds.

A line must be the whole log event, so it goes to stdout as is, never through the logging
formatter (whose prefix would make it plain text). Extra members (backend, job, trace id)
are not dimensions: they do not split the metric, but Logs Insights can query them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

NAMESPACE = "AssetCore"  # deploy/stacks/steps.py STEP_METRICS_NAMESPACE
STEP_DURATION = "StepDuration"
STEP_DIMENSION = "Step"

_lock = threading.Lock()
_enabled = False
_stream: TextIO | None = None


def step_duration_record(
    step: str,
    seconds: float,
    *,
    backend: str,
    backend_version: str,
    job_id: str,
    step_id: str,
    attempt: int,
    trace_id: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF object of one executed step's backend wall time."""
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[STEP_DIMENSION]],
                    "Metrics": [{"Name": STEP_DURATION, "Unit": "Seconds"}],
                }
            ],
        },
        STEP_DIMENSION: step,
        STEP_DURATION: float(seconds),
        "Backend": backend,
        "BackendVersion": backend_version,
        "JobId": job_id,
        "StepId": step_id,
        "Attempt": attempt,
    }
    if trace_id:
        record["TraceId"] = trace_id
    return record


def enable(stream: TextIO | None = None) -> None:
    """Write EMF lines from now on, to `stream` (default: the process's stdout at each write).

    Off by default: only deployables (`assetcore serve`, `assetcore worker`) turn it on, not
    the one-process `generate`, whose stdout is the user's.
    """
    global _enabled, _stream
    _enabled, _stream = True, stream


def disable() -> None:
    global _enabled, _stream
    _enabled, _stream = False, None


def emit(record: dict[str, Any]) -> bool:
    """Write one EMF object as one line (compact JSON), flushed; False when EMF is off."""
    if not _enabled:
        return False
    line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    out = sys.stdout if _stream is None else _stream
    with _lock:
        out.write(line)
        out.flush()
    return True
