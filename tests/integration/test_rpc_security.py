"""The gRPC framework hooks on real servers: authentication, tenant scope, error statuses, retries.

StepService needs a worker credential and runs under the credential's tenant; the
orchestrator's interceptors authenticate unary and streaming calls alike and keep error
statuses small; the worker's channel waits out an orchestrator that is down and retries a
call that failed in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from assetcore.adapters import open_blob_store
from assetcore.blobs.base import put_content
from assetcore.config import Settings
from assetcore.mesh import free_port
from assetcore.proto.v1 import job_pb2, orchestrator_pb2, orchestrator_pb2_grpc, step_pb2, step_pb2_grpc
from assetcore.rpc.channel import bearer
from assetcore.rpc.credentials import mint_worker_token
from assetcore.rpc.status import MAX_MESSAGE_BYTES, from_rpc_error
from assetcore.worker.client import OrchestratorClient, OrchestratorUnavailable
from assetcore.worker.service import RunningWorkers, running_workers
from tests.conftest import fast_settings
from tests.support.harness import embedded

pytestmark = pytest.mark.timeout(120)
TENANT_A = "ten_a"
TENANT_B = "ten_b"


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data")


@pytest.fixture
async def step_service(local: Settings) -> AsyncIterator[tuple[str, RunningWorkers]]:
    port = free_port()
    async with running_workers(local, ["tti"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers:
        await asyncio.wait_for(workers.ready.wait(), 30)
        yield f"127.0.0.1:{port}", workers


def blob_files(settings: Settings) -> set[str]:
    root = Path(settings.resolved_blob_url().removeprefix("file://"))
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def task_for(tenant: str, *inputs: job_pb2.Artifact) -> step_pb2.StepTask:
    task = step_pb2.StepTask(
        step_name="tti",
        step_id="stp_direct",
        tenant_id=tenant,
        seed=3,
        job_input=job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a rock")),
        inputs=inputs,
    )
    task.params.update({"ticks": 1})
    return task


async def run(address: str, task: step_pb2.StepTask, token: str | None) -> list[step_pb2.RunUpdate]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = step_pb2_grpc.StepServiceStub(channel)
        call = stub.Run(step_pb2.RunRequest(task=task), metadata=bearer(token) if token else None)
        return [update async for update in call]


async def run_code(address: str, task: step_pb2.StepTask, token: str | None) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await run(address, task, token)
    return raised.value.code()


async def test_step_service_refuses_calls_without_a_worker_credential(
    local: Settings, step_service: tuple[str, RunningWorkers]
) -> None:
    address, _ = step_service
    before = blob_files(local)
    secret = local.secret("internal_token")
    for token in (None, "ac_somekey_notaworker", mint_worker_token("another-secret", TENANT_A), "wkr1.*.x"):
        assert await run_code(address, task_for(TENANT_A), token) == grpc.StatusCode.UNAUTHENTICATED, token
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await step_pb2_grpc.StepServiceStub(channel).Describe(step_pb2.DescribeRequest())
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING, "health stays open"
        described = await step_pb2_grpc.StepServiceStub(channel).Describe(
            step_pb2.DescribeRequest(), metadata=bearer(mint_worker_token(secret, TENANT_A))
        )
        assert described.step == "tti"
    assert blob_files(local) == before, "nothing written"


async def test_step_service_runs_under_the_credentials_tenant_only(
    local: Settings, step_service: tuple[str, RunningWorkers]
) -> None:
    address, _ = step_service
    secret = local.secret("internal_token")
    scoped_a = mint_worker_token(secret, TENANT_A)
    blobs = open_blob_store(local)
    try:
        other = await put_content(blobs, TENANT_B, b"tenant b's private mesh", "model/gltf-binary")
    finally:
        await blobs.close()
    b_input = job_pb2.Artifact(
        name="mesh", media_type="model/gltf-binary", blob_key=other.key, sha256=other.sha256
    )
    before = blob_files(local)

    # A credential of tenant A naming tenant B, or reading B's blob: refused, nothing written.
    assert await run_code(address, task_for(TENANT_B), scoped_a) == grpc.StatusCode.PERMISSION_DENIED
    assert await run_code(address, task_for(TENANT_A, b_input), scoped_a) == grpc.StatusCode.PERMISSION_DENIED
    assert await run_code(address, task_for("", b_input), scoped_a) == grpc.StatusCode.PERMISSION_DENIED
    escaping = job_pb2.Artifact(name="mesh", blob_key=f"t/{TENANT_A}/../{TENANT_B}/cas/x.glb")
    assert (
        await run_code(address, task_for(TENANT_A, escaping), scoped_a) == grpc.StatusCode.PERMISSION_DENIED
    )
    # The all-tenant credential must say which tenant.
    everyone = mint_worker_token(secret)
    assert await run_code(address, task_for(""), everyone) == grpc.StatusCode.INVALID_ARGUMENT
    assert blob_files(local) == before, "nothing written by refused calls"

    # The tenant comes from the credential: a task naming none (or A) runs under A only. (Whether
    # the noop backend's output passes the step's gate does not matter here, where it lands does.)
    for named in ("", TENANT_A):
        update = (await run(address, task_for(named), scoped_a))[-1]
        assert update.WhichOneof("kind") in ("result", "error")
        assert all(a.blob_key.startswith(f"t/{TENANT_A}/") for a in update.result.outputs)
    written = blob_files(local) - before
    assert all(key.startswith(f"t/{TENANT_A}/") for key in written), written
    update = (await run(address, task_for(TENANT_B), everyone))[-1]
    assert all(a.blob_key.startswith(f"t/{TENANT_B}/") for a in update.result.outputs)
    assert all(key.startswith((f"t/{TENANT_A}/", f"t/{TENANT_B}/")) for key in blob_files(local) - before)


# --- the orchestrator's interceptors ---------------------------------------------------------


async def test_orchestrator_authenticates_streams_and_keeps_errors_small(settings: Settings) -> None:
    async with embedded(settings) as h, grpc.aio.insecure_channel(h.mesh.orchestrator_address) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        huge = "job_" + "x" * 100_000  # echoed by the error, it would overflow the metadata limit
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetJob(orchestrator_pb2.GetJobRequest(job_id=huge), metadata=bearer(h.key))
        error = from_rpc_error(raised.value)
        assert (raised.value.code(), error.field) == (grpc.StatusCode.INVALID_ARGUMENT, "job_id")
        assert len(error.message.encode()) <= MAX_MESSAGE_BYTES

        watch = stub.WatchJob(orchestrator_pb2.WatchJobRequest(job_id=huge), metadata=bearer(h.key))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in watch:
                pass
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert from_rpc_error(raised.value).field == "job_id"

        job = await h.create("a knight", pipeline="concept")
        for metadata, code in [
            (None, grpc.StatusCode.UNAUTHENTICATED),
            (bearer("ac_wrong"), grpc.StatusCode.UNAUTHENTICATED),
            (bearer(mint_worker_token(settings.secret("internal_token"))), grpc.StatusCode.PERMISSION_DENIED),
        ]:
            watch = stub.WatchJob(orchestrator_pb2.WatchJobRequest(job_id=job.id), metadata=metadata)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in watch:
                    pass
            assert raised.value.code() == code
        await h.api.cancel_job(h.key, job.id)

        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_orchestrator_worker_methods_need_the_all_tenant_credential(settings: Settings) -> None:
    secret = settings.secret("internal_token")
    async with embedded(settings) as h, grpc.aio.insecure_channel(h.mesh.orchestrator_address) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        request = orchestrator_pb2.StartStepRequest(step_id="stp_00000000000000000000000000", generation=1)
        for token, code in [
            (h.key, grpc.StatusCode.PERMISSION_DENIED),  # an admin API key is no worker
            (mint_worker_token(secret, "ten_someone"), grpc.StatusCode.PERMISSION_DENIED),
            (mint_worker_token("not-the-secret"), grpc.StatusCode.UNAUTHENTICATED),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.StartStep(request, metadata=bearer(token))
            assert raised.value.code() == code, token
        try:  # authorized (whatever core says of an unknown step)
            await stub.StartStep(request, metadata=bearer(mint_worker_token(secret)))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
        try:  # the raw internal secret too: workers of the previous release, mid-deploy
            await stub.StartStep(request, metadata=bearer(secret))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


# --- the worker's channel: wait for an orchestrator that is down, retry a call that failed in flight ---


class FlakyOrchestrator(orchestrator_pb2_grpc.OrchestratorServiceServicer):  # type: ignore[misc]
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.tokens: list[str] = []

    async def StartStep(
        self, request: orchestrator_pb2.StartStepRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.StartStepResponse:
        self.calls += 1
        self.tokens.extend(v for k, v in context.invocation_metadata() if k == "authorization")
        if self.calls <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "going down")
        return orchestrator_pb2.StartStepResponse(
            directive=orchestrator_pb2.START_DIRECTIVE_RUN, attempt_id="att_x"
        )


async def serve_fake(servicer: FlakyOrchestrator, port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def test_worker_calls_wait_for_an_orchestrator_that_comes_back() -> None:
    port = free_port()
    fake = FlakyOrchestrator(failures=0)
    client = OrchestratorClient(f"127.0.0.1:{port}", "wkr1.*.token", retry_s=30)
    server: grpc.aio.Server | None = None

    async def start_late() -> None:
        nonlocal server
        await asyncio.sleep(1.5)
        server = await serve_fake(fake, port)

    try:
        started = time.monotonic()
        late = asyncio.create_task(start_late())
        reply = await client.start_step(orchestrator_pb2.StartStepRequest(step_id="stp_x"))
        await late
        assert reply.attempt_id == "att_x" and time.monotonic() - started >= 1.5
        assert fake.tokens == ["Bearer wkr1.*.token"], "the channel adds the credential"
    finally:
        await client.close()
        if server is not None:
            await server.stop(0)


async def test_worker_calls_failing_in_flight_are_retried_by_the_channel() -> None:
    port = free_port()
    fake = FlakyOrchestrator(failures=2)
    server = await serve_fake(fake, port)
    client = OrchestratorClient(f"127.0.0.1:{port}", "wkr1.*.token", retry_s=30)
    try:
        reply = await client.start_step(orchestrator_pb2.StartStepRequest(step_id="stp_x"))
        assert reply.attempt_id == "att_x" and fake.calls == 3
        with pytest.raises(grpc.aio.AioRpcError):  # advisory calls are not retried
            await client.report_progress(orchestrator_pb2.ReportProgressRequest(attempt_id="att_x"))
    finally:
        await client.close()
        await server.stop(0)


async def test_worker_gives_up_after_its_budget() -> None:
    client = OrchestratorClient(f"127.0.0.1:{free_port()}", "wkr1.*.token", retry_s=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(OrchestratorUnavailable):
            await client.start_step(orchestrator_pb2.StartStepRequest(step_id="stp_x"))
        assert 0.9 <= time.monotonic() - started < 5
    finally:
        await client.close()
