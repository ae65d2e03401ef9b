"""The step-worker runtime: StepService, health, reflection, metrics, heartbeats, drain, bad messages."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from assetcore.adapters import open_blob_store, open_queue
from assetcore.config import Settings
from assetcore.db.migrate import upgrade_all
from assetcore.mesh import free_port
from assetcore.proto.v1 import job_pb2, step_pb2, step_pb2_grpc
from assetcore.rpc.channel import bearer
from assetcore.rpc.credentials import mint_worker_token
from assetcore.steps.catalog import build_catalog, load_catalog
from assetcore.steps.contract import BackendSpec, UnknownBackend
from assetcore.worker import registry
from assetcore.worker.backend import BackendInfo
from assetcore.worker.client import OrchestratorClient
from assetcore.worker.consumer import QueueConsumer
from assetcore.worker.noop import NoopBackend
from assetcore.worker.registry import host_steps
from assetcore.worker.service import running_workers
from tests.conftest import PROBE, fast_settings
from tests.support.harness import embedded

pytestmark = pytest.mark.timeout(120)
PROBE_SHORT = list(load_catalog((PROBE,)).pipelines["probe_short"].step_names)


@pytest.fixture
def local(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return fast_settings(tmp_path / "data")


async def test_step_service_run_describe_health_reflection_metrics(local: Settings) -> None:
    port, metrics_port = free_port(), free_port()
    local.metrics_port = metrics_port
    worker = bearer(mint_worker_token(local.secret("internal_token")))
    async with running_workers(local, ["sketch"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers:
        await asyncio.wait_for(workers.ready.wait(), 30)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service="assetcore.v1.StepService"))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

            stub = step_pb2_grpc.StepServiceStub(channel)
            described = await stub.Describe(step_pb2.DescribeRequest(), metadata=worker)
            assert (described.step, described.backend, described.ready) == ("sketch", "noop", True)
            assert list(described.available_backends) == ["noop"]

            task = step_pb2.StepTask(
                step_name="sketch",
                step_id="stp_direct",
                tenant_id="ten_direct",
                seed=3,
                job_input=job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a rock")),
            )
            task.params.update({"ticks": 3, "sleep_s": 0.3})
            updates = [u async for u in stub.Run(step_pb2.RunRequest(task=task), metadata=worker)]
            assert [u.WhichOneof("kind") for u in updates][-1] == "result"
            assert any(u.WhichOneof("kind") == "progress" for u in updates)
            result = updates[-1].result
            assert result.backend == "noop" and result.outputs[0].sha256

            bad = step_pb2.StepTask(step_name="touchup", tenant_id="ten_direct")
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in stub.Run(step_pb2.RunRequest(task=bad), metadata=worker):
                    pass
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT

            failing = step_pb2.StepTask()
            failing.CopyFrom(task)
            failing.params.update({"fail_code": "E_BAD"})
            updates = [u async for u in stub.Run(step_pb2.RunRequest(task=failing), metadata=worker)]
            assert updates[-1].error.code == "E_BAD"

            refl = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = {s.name async for r in responses for s in r.list_services_response.service}
            assert {"assetcore.v1.StepService", "grpc.health.v1.Health"} <= names

        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'assetcore_backend_ready{backend="noop",step="sketch"} 1.0' in text


class SlowLoading(NoopBackend):
    """Loads only once the test has seen the service not serving (no race with a timer)."""

    may_load = threading.Event()

    def describe(self) -> BackendInfo:
        return BackendInfo("slowload", "1")

    def load(self) -> None:
        if not self.may_load.wait(60):
            raise TimeoutError("the test never let the backend load")


async def test_health_is_not_serving_until_the_backend_loaded(
    local: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sketch = load_catalog((PROBE,)).step("sketch")
    slow = replace(sketch, backends={"slowload": BackendSpec(SlowLoading)}, default_backend="slowload")
    monkeypatch.setattr(registry, "catalog_for", lambda settings: build_catalog([slow], []))
    SlowLoading.may_load.clear()
    port = free_port()
    async with (
        running_workers(local, ["sketch"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        first = await health.Check(health_pb2.HealthCheckRequest(service=""), wait_for_ready=True)
        assert first.status == health_pb2.HealthCheckResponse.NOT_SERVING
        SlowLoading.may_load.set()
        await asyncio.wait_for(workers.ready.wait(), 30)
        second = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert second.status == health_pb2.HealthCheckResponse.SERVING


async def test_heartbeat_keeps_the_lease_of_a_long_step(settings: Settings) -> None:
    settings.worker.visibility_timeout_s = 1.5  # heartbeats every 0.5 s; the step takes 4 s
    settings.steps = PROBE_SHORT
    async with embedded(settings) as h:
        job = await h.finish(
            (
                await h.create(
                    "a knight", pipeline="probe_short", step_options={"touchup": {"sleep_s": 4.0, "ticks": 8}}
                )
            ).id
        )
    touchup = next(s for s in job.steps if s.name == "touchup")
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert touchup.attempt == 1, "the lease never lapsed, so the step was never delivered twice"


async def test_drain_releases_in_flight_steps_without_spending_an_attempt(settings: Settings) -> None:
    settings.steps = PROBE_SHORT
    async with embedded(settings) as h:
        job = await h.create(
            "a knight", pipeline="probe_short", step_options={"sketch": {"sleep_s": 60.0, "ticks": 600}}
        )
        async for event in h.api.watch_job(h.key, job.id):
            if event.WhichOneof("kind") == "progress":
                break
        await h.mesh.workers.consumer.drain(grace_s=0.2)
        queued = await h.api.get_job(h.key, job.id)
        assert queued.steps[0].state == job_pb2.STEP_STATE_QUEUED and queued.steps[0].attempt == 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (depth := await h.depth("sketch")).visible == 0 and loop.time() < deadline:
            await asyncio.sleep(0.05)  # released as soon as the backend stops, bounded
        assert depth.visible == 1, "released: visible at once for another worker"
        await h.api.cancel_job(h.key, job.id)


async def test_undecodable_message_is_dead_lettered_and_work_continues(settings: Settings) -> None:
    settings.steps = PROBE_SHORT
    async with embedded(settings) as h:
        queue = open_queue(settings)
        try:
            await queue.send("sketch", b"\xff\xfe not a StepTask")
        finally:
            await queue.close()
        done = await h.finish((await h.create("a knight", pipeline="probe_short")).id)
        assert done.state == job_pb2.JOB_STATE_SUCCEEDED
        # Dead-lettered by its own handler, concurrently with the job's steps: wait for it.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while (depth := await h.depth("sketch")).dead == 0 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert depth.dead == 1


async def test_a_worker_node_takes_interactive_steps_before_batch_work(local: Settings) -> None:
    queue = open_queue(local)
    blobs = open_blob_store(local)
    client = OrchestratorClient("127.0.0.1:1", "unused", retry_s=1)  # the consumer is not run
    try:
        steps = host_steps(list(load_catalog((PROBE,)).pipelines["probe"].step_names), local)
        consumer = QueueConsumer(steps, queue, blobs, client, local.worker)
        assert consumer.queues[:2] == ["sketch", "touchup"]
        assert set(consumer.queues[2:]) == {"shape", "topo", "bones", "motion", "pack"}
        await upgrade_all(local)
        await queue.send("pack", b"batch")  # waiting longer than the interactive one
        await queue.send("sketch", b"interactive")
        got = await queue.receive(consumer.queues, max_messages=2, visibility_timeout_s=5, wait_s=0)
        assert [m.body for m in got] == [b"interactive", b"batch"]
    finally:
        await client.close()
        await queue.close()


async def test_unknown_backend_is_a_clear_error(local: Settings) -> None:
    local.backends["tti"] = "dalle"
    with pytest.raises(UnknownBackend, match="tti has no backend 'dalle'"):
        async with running_workers(local, ["tti"], "127.0.0.1:1"):
            pass
