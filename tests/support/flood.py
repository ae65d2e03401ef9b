"""A mutation flood from one tenant's key while another tenant submits jobs, through a real gateway
(issue 9's fairness acceptance). The flood's answers are tallied by error code; the other tenant's
queue wait is read from its jobs' own events (StepQueued -> StepStarted of each step)."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from dataclasses import dataclass, field

from assetcore.proto.v1 import job_pb2
from tests.support.gql import Gql

CREATE = "mutation($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id } } }"


@dataclass
class FloodResult:
    codes: Counter[str] = field(default_factory=Counter)  # the flood's answers: "ok" or the error code
    retry_after: set[int] = field(default_factory=set)  # retryAfter values of RATE_LIMITED answers
    elapsed_s: float = 0.0
    waits_s: list[float] = field(default_factory=list)  # the other tenant's queue waits, one per step
    states: list[str] = field(default_factory=list)  # the other tenant's jobs' final states

    def p95(self) -> float:
        return statistics.quantiles(self.waits_s, n=20, method="inclusive")[-1]


async def flood(g: Gql, key: str, mutations: int, result: FloodResult, concurrency: int = 8) -> None:
    """Send `mutations` createAssetJob calls with `key`, `concurrency` at a time."""
    remaining = iter(range(mutations))
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def sender() -> None:
        for i in remaining:
            answer = await g(
                CREATE, api_key=key, input={"prompt": {"concept": f"flood {i}"}, "pipeline": "probe_short"}
            )
            if not answer.get("errors"):
                result.codes["ok"] += 1
                continue
            extensions = answer["errors"][0]["extensions"]
            result.codes[extensions["code"]] += 1
            if "retryAfter" in extensions:
                result.retry_after.add(extensions["retryAfter"])

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.elapsed_s = loop.time() - started


async def steady_jobs(g: Gql, key: str, jobs: int, interval_s: float, result: FloodResult) -> None:
    """Submit `jobs` probe_short jobs with `key`, one every `interval_s`; wait for each to end and
    record its steps' queue waits and its final state."""
    ids = []
    for i in range(jobs):
        answer = await g(
            CREATE, api_key=key, input={"prompt": {"concept": f"steady {i}"}, "pipeline": "probe_short"}
        )
        assert not answer.get("errors"), answer
        ids.append(answer["data"]["createAssetJob"]["job"]["id"])
        await asyncio.sleep(interval_s)
    for job_id in ids:
        queued: dict[str, float] = {}
        async for event in g.harness.api.watch_job(key, job_id, 0):
            kind = event.WhichOneof("kind")
            at = event.at.ToDatetime().timestamp()
            if kind == "queued":
                queued.setdefault(event.step_name, at)
            elif kind == "started" and event.step_name in queued:
                result.waits_s.append(at - queued.pop(event.step_name))
        job = await g.harness.api.get_job(key, job_id)
        result.states.append(job_pb2.JobState.Name(job.state))
