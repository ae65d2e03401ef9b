"""One job, one trace: through the multi-process mesh (`assetcore up`) to an OTLP receiver.

gateway (POST /graphql) → CreateJob (gateway client span → orchestrator server span) → for
every step, the worker's span of the attempt (service = the step) → its StartStep,
ReportProgress and CompleteStep calls → the orchestrator's server spans of those calls. All
one connected trace, with one root. The workers also log the step-duration EMF line.

The mesh runs the probe steps (tests/support/mesh.py); each spends a little time in its backend
thread and reports progress from there. The orchestrator stores the CreateJob trace context on
the job and stamps it on its step tasks (assetcore/telemetry/tracing.py: job_trace_parent,
set_task_trace).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.mesh import STEPS, MeshProcess, graphql, mesh_process
from tests.support.otlp import ReceivedSpan, otlp_receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SERVICE = "/assetcore.v1.OrchestratorService/"
CREATE = "mutation($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id } } }"
JOB = "query($id: ID!) { job(id: $id) { state steps { name state } } }"


async def finished_job(mesh: MeshProcess, job_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = (await graphql(mesh, JOB, id=job_id))["job"]
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


def step_spans(spans: list[ReceivedSpan], job_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("step ") and s.attributes.get("assetcore.job.id") == job_id]


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def describe(spans: list[ReceivedSpan]) -> str:
    return "\n".join(
        f"  {s.trace_id[:8]} {s.span_id[:8]}<-{s.parent_id[:8] or 'root'} {s.service} {s.kind} {s.name}"
        for s in sorted(spans, key=lambda s: s.start_ns)
    )


async def test_one_trace_per_job_across_the_mesh(tmp_path: Path) -> None:
    with otlp_receiver() as collector:
        env = {
            "ASSETCORE_TRACING__OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export every 0.1 s instead of 5 s
        }
        with mesh_process(tmp_path / "data", **env) as mesh:
            work = {step: {"sleep_s": 0.3, "ticks": 3} for step in STEPS}  # progress from the threads
            given = {"prompt": {"concept": "a knight in red armor"}, "stepOptions": work}
            data = await graphql(mesh, CREATE, input=given)
            job_id = data["createAssetJob"]["job"]["id"]
            job = await finished_job(mesh, job_id)
            assert job["state"] == "SUCCEEDED", job
            names = [s["name"] for s in job["steps"]]

            def arrived(spans: list[ReceivedSpan]) -> bool:
                """A step span for every step, each with its CompleteStep served, and the gateway's."""
                mine = step_spans(spans, job_id)
                served = [
                    s for s in spans if s.service == "orchestrator" and s.name == SERVICE + "CompleteStep"
                ]
                return (
                    {s.attributes["assetcore.step.name"] for s in mine} == set(names)
                    and len(served) >= len(names)
                    and any(s.service == "gateway" and s.kind == "server" for s in spans)
                )

            spans = await asyncio.to_thread(collector.wait_for, arrived, 30.0)
            await asyncio.sleep(0.5)  # the last batches (the gateway's root ends after its response)
            spans = collector.snapshot()
            log = mesh.log()

    everything = describe(spans)
    mine = step_spans(spans, job_id)
    traces = {s.trace_id for s in mine}
    assert len(traces) == 1, (
        "the step spans of one job are in several traces: does the orchestrator store the "
        "CreateJob trace context (jobs.trace_parent) and stamp it on every StepTask "
        f"(tracing.set_task_trace)?\n{everything}"
    )
    [trace_id] = traces
    trace = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in trace}

    # One connected trace whose root is the gateway's request.
    roots = [s for s in trace if s.parent_id not in by_id]
    assert len(roots) == 1, f"not one connected trace:\n{describe(trace)}"
    [root] = roots
    assert (root.service, root.kind, root.parent_id) == ("gateway", "server", ""), describe(trace)
    assert root.name.startswith("POST"), root.name

    # CreateJob: the gateway's client span, served by the orchestrator.
    [create_served] = [s for s in trace if s.service == "orchestrator" and s.name == SERVICE + "CreateJob"]
    assert create_served.kind == "server"
    create_client = by_id[create_served.parent_id]
    assert (create_client.service, create_client.kind, create_client.name) == (
        "gateway",
        "client",
        SERVICE + "CreateJob",
    )
    assert root in ancestors(create_client, by_id)

    # Every step of the job: a span per attempt, inside which the orchestrator calls are made.
    reported: set[str] = set()
    assert {s.service for s in trace} == {"gateway", "orchestrator", *names}, describe(trace)
    for name in names:
        attempts = [s for s in trace if s.name == f"step {name}"]
        assert attempts, f"no span for step {name}:\n{describe(trace)}"
        for span in attempts:
            assert (span.service, span.kind) == (name, "consumer")
            assert create_served in ancestors(span, by_id), "a step span descends from CreateJob"
            attributes = span.attributes
            assert attributes["assetcore.job.id"] == job_id
            assert attributes["assetcore.step.name"] == name
            assert attributes["assetcore.backend.name"]
            assert attributes["assetcore.backend.version"]
            assert attributes["assetcore.step.attempt"] >= 1
        [done] = [s for s in attempts if s.attributes.get("assetcore.step.outcome") == "succeeded"]
        calls = [s for s in trace if s.kind == "client" and done in ancestors(s, by_id)]
        methods = {c.name.removeprefix(SERVICE) for c in calls}
        assert {"StartStep", "CompleteStep"} <= methods, (name, methods)
        reported |= methods
        for call in calls:
            served = [s for s in trace if s.parent_id == call.span_id]
            assert [(s.service, s.kind, s.name) for s in served] == [("orchestrator", "server", call.name)]

    assert "ReportProgress" in reported, "progress from the backends' threads joins the step spans"

    # The step-duration metric: one EMF line per executed step, carrying the trace id.
    records = [json.loads(line) for line in log.splitlines() if line.startswith('{"_aws"')]
    records = [r for r in records if r.get("JobId") == job_id]
    assert sorted(r["Step"] for r in records) == sorted(names), everything
    for record in records:
        [directive] = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "AssetCore" and directive["Dimensions"] == [["Step"]]
        assert record["StepDuration"] > 0 and record["TraceId"] == trace_id
