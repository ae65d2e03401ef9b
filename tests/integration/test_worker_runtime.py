"""The step-worker runtime: StepService, health, reflection, metrics, heartbeats, drain, bad messages."""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from assetcore.adapters import open_blob_store, open_queue
from assetcore.config import STEP_NAMES, Settings
from assetcore.db.migrate import upgrade_all
from assetcore.mesh import free_port
from assetcore.proto.v1 import job_pb2, step_pb2, step_pb2_grpc
from assetcore.worker import registry
from assetcore.worker.backend import BackendInfo, StepDefinition, StepOutput
from assetcore.worker.client import OrchestratorClient
from assetcore.worker.consumer import QueueConsumer
from assetcore.worker.noop import NoopBackend
from assetcore.worker.registry import host_steps
from assetcore.worker.service import running_workers
from tests.conftest import fast_settings
from tests.support.harness import embedded

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def local(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return fast_settings(tmp_path / "data")


async def test_step_service_run_describe_health_reflection_metrics(local: Settings) -> None:
    port, metrics_port = free_port(), free_port()
    local.metrics_port = metrics_port
    async with running_workers(local, ["retopo"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers:
        await asyncio.wait_for(workers.ready.wait(), 30)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service="assetcore.v1.StepService"))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

            stub = step_pb2_grpc.StepServiceStub(channel)
            described = await stub.Describe(step_pb2.DescribeRequest())
            assert (described.step, described.backend, described.ready) == ("retopo", "noop", True)
            assert "noop" in described.available_backends and len(described.available_backends) > 1

            task = step_pb2.StepTask(
                step_name="retopo",
                step_id="stp_direct",
                tenant_id="ten_direct",
                seed=3,
                job_input=job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a rock")),
            )
            task.params.update({"ticks": 3, "sleep_s": 0.3})
            updates = [u async for u in stub.Run(step_pb2.RunRequest(task=task))]
            assert [u.WhichOneof("kind") for u in updates][-1] == "result"
            assert any(u.WhichOneof("kind") == "progress" for u in updates)
            result = updates[-1].result
            assert result.backend == "noop" and result.outputs[0].sha256

            bad = step_pb2.StepTask(step_name="rig", tenant_id="ten_direct")
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in stub.Run(step_pb2.RunRequest(task=bad)):
                    pass
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT

            failing = step_pb2.StepTask()
            failing.CopyFrom(task)
            failing.params.update({"fail_code": "E_BAD"})
            updates = [u async for u in stub.Run(step_pb2.RunRequest(task=failing))]
            assert updates[-1].error.code == "E_BAD"

            refl = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = {s.name async for r in responses for s in r.list_services_response.service}
            assert {"assetcore.v1.StepService", "grpc.health.v1.Health"} <= names

        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'assetcore_backend_ready{backend="noop",step="retopo"} 1.0' in text


class SlowLoading(NoopBackend):
    def describe(self) -> BackendInfo:
        return BackendInfo("slowload", "1")

    def load(self) -> None:
        time.sleep(1.0)


async def test_health_is_not_serving_until_the_backend_loaded(
    local: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = registry.step_definitions()["rig"]
    slow = StepDefinition(
        name="rig",
        consumes=real.consumes,
        backends={**real.backends, "slowload": SlowLoading},
        default_backend=real.default_backend,
        run=lambda backend, request, progress: backend.run(request, progress),
    )
    monkeypatch.setattr(registry, "step_definitions", lambda: {"rig": slow})
    local.backends["rig"] = "slowload"
    port = free_port()
    async with (
        running_workers(local, ["rig"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        first = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert first.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await asyncio.wait_for(workers.ready.wait(), 30)
        second = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert second.status == health_pb2.HealthCheckResponse.SERVING


async def test_heartbeat_keeps_the_lease_of_a_long_step(settings: Settings) -> None:
    settings.worker.visibility_timeout_s = 0.6
    async with embedded(settings) as h:
        job = await h.finish(
            (await h.create("a knight", step_options={"rig": {"sleep_s": 2.0, "ticks": 4}})).id
        )
    rig = next(s for s in job.steps if s.name == "rig")
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert rig.attempt == 1, "the lease never lapsed, so the step was never delivered twice"


async def test_drain_releases_in_flight_steps_without_spending_an_attempt(settings: Settings) -> None:
    async with embedded(settings) as h:
        job = await h.create("a knight", step_options={"tti": {"sleep_s": 10.0, "ticks": 100}})
        async for event in h.api.watch_job(h.key, job.id):
            if event.WhichOneof("kind") == "progress":
                break
        await h.mesh.workers.consumer.drain(grace_s=0.2)
        queued = await h.api.get_job(h.key, job.id)
        assert queued.steps[0].state == job_pb2.STEP_STATE_QUEUED and queued.steps[0].attempt == 0
        depth = await h.depth("tti")
        assert depth.visible == 1, "released: visible at once for another worker"
        await h.api.cancel_job(h.key, job.id)


async def test_undecodable_message_is_dead_lettered_and_work_continues(settings: Settings) -> None:
    async with embedded(settings) as h:
        queue = open_queue(settings)
        try:
            await queue.send("tti", b"\xff\xfe not a StepTask")
        finally:
            await queue.close()
        done = await h.finish((await h.create("a knight")).id)
        assert done.state == job_pb2.JOB_STATE_SUCCEEDED
        assert (await h.depth("tti")).dead == 1


async def test_a_worker_node_takes_interactive_steps_before_batch_work(local: Settings) -> None:
    queue = open_queue(local)
    blobs = open_blob_store(local)
    client = OrchestratorClient("127.0.0.1:1", "unused", retry_s=1)  # the consumer is not run
    try:
        consumer = QueueConsumer(host_steps(list(STEP_NAMES), local), queue, blobs, client, local.worker)
        assert consumer.queues[:2] == ["tti", "refine"]
        assert set(consumer.queues[2:]) == {"image3d", "retopo", "rig", "anim", "export"}
        await upgrade_all(local)
        await queue.send("export", b"batch")  # waiting longer than the interactive one
        await queue.send("tti", b"interactive")
        got = await queue.receive(consumer.queues, max_messages=2, visibility_timeout_s=5, wait_s=0)
        assert [m.body for m in got] == [b"interactive", b"batch"]
    finally:
        await client.close()
        await queue.close()


async def test_unknown_backend_is_a_clear_error(local: Settings) -> None:
    local.backends["tti"] = "dalle"
    with pytest.raises(registry.UnknownBackend, match="tti has no backend 'dalle'"):
        async with running_workers(local, ["tti"], "127.0.0.1:1"):
            pass


def test_noop_rejects_unknown_options() -> None:
    from assetcore.worker.backend import StepError, StepRequest

    request = StepRequest("tti", job_pb2.JobInput(), {"bogus": 1}, 0, {})
    with pytest.raises(StepError, match="bogus"):
        NoopBackend().run(request, lambda *a, **k: None)
    assert isinstance(
        NoopBackend().run(StepRequest("tti", job_pb2.JobInput(), {}, 0, {}), lambda *a, **k: None), StepOutput
    )
