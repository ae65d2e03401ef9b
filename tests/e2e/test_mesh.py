"""The multi-process mesh (`assetcore up`): end to end through GraphQL, and the failure promises."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport

from tests.support.mesh import STEPS, MeshProcess, graphql, mesh_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CREATE = """
mutation($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id } } }
"""
EVENTS = gql(
    """
subscription($id: ID!, $after: Int!) {
  jobEvents(jobId: $id, afterSequence: $after) {
    __typename sequence stepName
    ... on StepStartedEvent { attempt }
    ... on StepCompletedEvent { outputs { name sha256 url } }
    ... on JobFinishedEvent { state assetVersion files { name sha256 url } }
  }
}
"""
)
JOB = """
query($id: ID!) {
  job(id: $id) {
    state assetId assetVersion
    steps { name state attempt outputs { name sha256 } }
  }
}
"""


@pytest.fixture
def mesh(tmp_path: Path):  # type: ignore[no-untyped-def]
    with mesh_process(tmp_path / "data") as running:
        yield running


async def events(mesh: MeshProcess, job_id: str, after: int = 0) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(
        url=mesh.gateway_url.replace("http", "ws") + "/graphql",
        init_payload={"authorization": f"Bearer {mesh.api_key}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    seen = []
    async with Client(transport=transport) as session:
        async for result in session.subscribe(
            GraphQLRequest(EVENTS, variable_values={"id": job_id, "after": after})
        ):
            seen.append(result["jobEvents"])
    return seen


async def events_across_outages(mesh: MeshProcess, job_id: str) -> list[dict[str, Any]]:
    """Follow a job to its end, resuming after the last seen sequence when the stream breaks."""
    seen: list[dict[str, Any]] = []
    for _ in range(60):
        try:
            seen.extend(await events(mesh, job_id, seen[-1]["sequence"] if seen else 0))
        except Exception:
            await asyncio.sleep(0.5)
            continue
        if seen and seen[-1]["__typename"] == "JobFinishedEvent":
            return seen
    raise AssertionError(f"job {job_id} did not finish: {seen[-3:]}")


async def cli_output(env: dict[str, str], *arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assetcore.cli", *arguments, env=env, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0, arguments
    return stdout.decode()


async def create(mesh: MeshProcess, prompt: str, **fields: Any) -> str:
    data = await graphql(mesh, CREATE, input={"prompt": {"concept": prompt}, **fields})
    return str(data["createAssetJob"]["job"]["id"])


async def wait_for(mesh: MeshProcess, job_id: str, step: str, kind: str) -> None:
    async def watch() -> None:
        transport = WebsocketsTransport(
            url=mesh.gateway_url.replace("http", "ws") + "/graphql",
            init_payload={"authorization": f"Bearer {mesh.api_key}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        async with Client(transport=transport) as session:
            async for result in session.subscribe(
                GraphQLRequest(EVENTS, variable_values={"id": job_id, "after": 0})
            ):
                event = result["jobEvents"]
                if event["stepName"] == step and event["__typename"] == kind:
                    return

    await asyncio.wait_for(watch(), 60)


async def test_job_end_to_end_through_graphql(mesh: MeshProcess) -> None:
    job_id = await create(mesh, "a knight in red armor")
    seen = await events(mesh, job_id)
    assert [e["sequence"] for e in seen] == list(range(1, len(seen) + 1))
    for step in STEPS:
        kinds = [e["__typename"] for e in seen if e["stepName"] == step]
        assert kinds[:2] == ["StepQueuedEvent", "StepStartedEvent"], (step, kinds)
        assert "StepProgressEvent" in kinds and kinds[-1] == "StepCompletedEvent", (step, kinds)
    order = [e["stepName"] for e in seen if e["__typename"] == "StepStartedEvent"]
    assert order == list(STEPS)
    finished = seen[-1]
    assert finished["__typename"] == "JobFinishedEvent" and finished["state"] == "SUCCEEDED"
    assert finished["files"]
    async with httpx.AsyncClient(timeout=30) as http:
        for file in finished["files"]:
            download = await http.get(file["url"])
            assert download.status_code == 200, file
            assert hashlib.sha256(download.content).hexdigest() == file["sha256"]

    # The inspection commands against the running mesh.
    env = {**os.environ, "ASSETCORE_ORCHESTRATOR_ADDRESS": mesh.state()["orchestrator"]["address"]}
    listed = await cli_output(env, "jobs", "--data-dir", str(mesh.data_dir))
    assert job_id in listed and "succeeded" in listed
    watched = (
        await cli_output(env, "watch", job_id, "--json", "--data-dir", str(mesh.data_dir))
    ).splitlines()
    assert len(watched) == len(seen) and '"finished"' in watched[-1]


async def test_worker_killed_mid_step_is_redelivered(mesh: MeshProcess) -> None:
    job_id = await create(mesh, "a knight", stepOptions={"topo": {"sleep_s": 3, "ticks": 30}})
    await wait_for(mesh, job_id, "topo", "StepProgressEvent")
    old = mesh.kill("topo")
    mesh.wait_restarted("topo", old)
    seen = await events_across_outages(mesh, job_id)
    assert seen[-1]["state"] == "SUCCEEDED"
    starts = [e["attempt"] for e in seen if e["stepName"] == "topo" and e["__typename"] == "StepStartedEvent"]
    assert starts == [1, 2], "the killed attempt, then the redelivery"
    job = (await graphql(mesh, JOB, id=job_id))["job"]
    assert job["state"] == "SUCCEEDED" and job["assetVersion"] == 1
    asset = await graphql(
        mesh, "query($id: ID!) { asset(id: $id) { versions { version jobId } } }", id=job["assetId"]
    )
    assert asset["asset"]["versions"] == [{"version": 1, "jobId": job_id}], "exactly one asset version"


async def test_sigterm_drains_and_releases_the_step_without_spending_an_attempt(mesh: MeshProcess) -> None:
    job_id = await create(mesh, "a knight", stepOptions={"bones": {"sleep_s": 6, "ticks": 60}})
    await wait_for(mesh, job_id, "bones", "StepProgressEvent")
    pid = mesh.pid("bones")
    os.kill(pid, signal.SIGTERM)  # a deploy or a Spot interruption notice; the grace period is 2 s
    mesh.wait_restarted("bones", pid)
    seen = await events_across_outages(mesh, job_id)
    assert seen[-1]["state"] == "SUCCEEDED"
    starts = [
        e["attempt"] for e in seen if e["stepName"] == "bones" and e["__typename"] == "StepStartedEvent"
    ]
    assert starts == [1, 1], "released on shutdown: the second run is still attempt 1"


async def test_orchestrator_killed_mid_job_loses_nothing(mesh: MeshProcess) -> None:
    options = {step: {"sleep_s": 0.6, "ticks": 6} for step in STEPS}
    job_id = await create(mesh, "a knight", stepOptions=options)
    await wait_for(mesh, job_id, "shape", "StepStartedEvent")
    old = mesh.kill("orchestrator")
    await asyncio.sleep(1.0)  # workers keep running and retry their calls
    mesh.wait_restarted("orchestrator", old)
    seen = await events_across_outages(mesh, job_id)
    assert [e["sequence"] for e in seen] == list(range(1, len(seen) + 1)), "no event lost or repeated"
    assert seen[-1]["state"] == "SUCCEEDED"
    job = (await graphql(mesh, JOB, id=job_id))["job"]
    assert [s["state"] for s in job["steps"]] == ["SUCCEEDED"] * len(STEPS)
    completed = [e for e in seen if e["__typename"] == "StepCompletedEvent"]
    assert [e["stepName"] for e in completed] == list(STEPS), "each step completed exactly once"
    for step, event in zip(job["steps"], completed, strict=True):
        assert [o["sha256"] for o in step["outputs"]] == [o["sha256"] for o in event["outputs"]]
    assert job["assetVersion"] == 1


async def test_up_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    with mesh_process(tmp_path / "data") as mesh:
        pids = [mesh.pid(name) for name in ("orchestrator", "gateway", *STEPS)]
        mesh.process.send_signal(signal.SIGINT)
        assert mesh.process.wait(timeout=60) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
