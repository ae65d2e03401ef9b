"""StepService over gRPC (Run, Describe) and the lifespan of a step deployable.

`running_workers` composes a step deployable: the backends are loaded (health stays
NOT_SERVING until they are), then the queue consumer starts; on exit it drains. The same
function runs one step (`assetcore serve tti`) or all of them in one process (`generate`).

StepService (Run, Describe) needs a worker credential (assetcore/rpc/credentials.py), checked
by the same interceptors as the orchestrator's; health and reflection stay open. Run acts for
the credential's tenant (an all-tenant credential must name one in the task), and reads only
that tenant's blobs. Listeners bind to settings.step_host / settings.metrics_host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from assetcore.adapters import open_blob_store, open_queue
from assetcore.config import Settings
from assetcore.errors import InvalidArgument, PermissionDenied
from assetcore.proto.v1 import job_pb2, orchestrator_pb2, step_pb2, step_pb2_grpc
from assetcore.rpc.credentials import WorkerAuthenticator, WorkerScope, mint_worker_token
from assetcore.rpc.interceptors import (
    AuthInterceptor,
    ErrorStatusInterceptor,
    current_principal,
    method_roles,
)
from assetcore.rpc.server import GrpcServer, listen_address
from assetcore.worker import metrics
from assetcore.worker.backend import StepCancelled, StepError
from assetcore.worker.client import OrchestratorClient
from assetcore.worker.consumer import STEP_TIMEOUT_S, QueueConsumer
from assetcore.worker.executor import StepExecutor
from assetcore.worker.registry import HostedStep, host_steps

log = logging.getLogger(__name__)
SERVICE = step_pb2.DESCRIPTOR.services_by_name["StepService"]
SERVICE_NAME = SERVICE.full_name
ROLES = {"Run": "worker", "Describe": "worker"}


def step_interceptors(internal_secret: str) -> list[object]:
    """StepService's interceptors: errors to statuses, then worker credentials only."""
    return [
        ErrorStatusInterceptor([SERVICE_NAME]),
        AuthInterceptor(WorkerAuthenticator(internal_secret), method_roles(SERVICE, ROLES)),
    ]


def step_listen_address(settings: Settings) -> str:
    """Where `serve <step>` serves StepService: settings.step_host and step_port."""
    return listen_address(settings.step_host, settings.step_port)


def _owned(blob_key: str, tenant: str) -> bool:
    parts = blob_key.split("/")
    return blob_key.startswith(f"t/{tenant}/") and not {"", ".", ".."} & set(parts) and "\\" not in blob_key


class StepServicer(step_pb2_grpc.StepServiceServicer):  # type: ignore[misc]  # untyped generated base
    """Runs tasks directly (canaries, internal tools), outside the queue and the orchestrator."""

    def __init__(self, hosted: HostedStep, executor: StepExecutor) -> None:
        self._hosted = hosted
        self._executor = executor

    async def Describe(
        self, request: step_pb2.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> step_pb2.DescribeResponse:
        info = self._hosted.info()
        return step_pb2.DescribeResponse(
            step=self._hosted.name,
            backend=info.name,
            backend_version=info.version,
            capabilities=info.capabilities,
            available_backends=self._hosted.backend_names(),
            ready=self._hosted.loaded,
        )

    def _authorized(self, requested: step_pb2.StepTask) -> step_pb2.StepTask:
        """The task as it will run: under the credential's tenant, reading only that tenant's blobs."""
        tenant = current_principal(WorkerScope).tenant_for(requested.tenant_id)
        if requested.step_name != self._hosted.name:
            raise InvalidArgument(f"this service runs step {self._hosted.name!r}", field="task.step_name")
        for i, artifact in enumerate(requested.inputs):
            if not _owned(artifact.blob_key, tenant):
                raise PermissionDenied(
                    "inputs must be blobs of the tenant the step runs for", field=f"task.inputs[{i}].blob_key"
                )
        task = step_pb2.StepTask()
        task.CopyFrom(requested)
        task.tenant_id = tenant
        return task

    async def Run(
        self, request: step_pb2.RunRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[step_pb2.RunUpdate]:
        task = self._authorized(request.task)
        updates: asyncio.Queue[step_pb2.RunUpdate | None] = asyncio.Queue()

        async def sink(fraction: float, message: str, preview: job_pb2.Artifact | None) -> bool:
            await updates.put(step_pb2.RunUpdate(progress=fraction, message=message))
            return False

        cancel = threading.Event()

        async def execute() -> step_pb2.RunUpdate:
            try:
                result = await self._executor.execute(task, self._hosted, sink, cancel, STEP_TIMEOUT_S)
                return step_pb2.RunUpdate(result=result)
            except StepError as exc:
                return step_pb2.RunUpdate(error=job_pb2.Error(code=exc.code, message=exc.message))
            except StepCancelled:
                return step_pb2.RunUpdate(error=job_pb2.Error(code="CANCELLED", message="cancelled"))
            finally:
                await updates.put(None)

        running = asyncio.create_task(execute())
        try:
            while (update := await updates.get()) is not None:
                yield update
            yield await running
        finally:
            cancel.set()  # the client went away: stop the backend at its next progress call
            if not running.done():
                running.cancel()


@dataclass
class RunningWorkers:
    consumer: QueueConsumer
    steps: list[HostedStep]
    grpc_port: int | None
    metrics_port: int | None
    ready: asyncio.Event  # backends loaded, StepService serving
    registered: asyncio.Event  # the orchestrator knows what these steps offer; consuming
    task: asyncio.Task[None]  # load, register, consume

    async def wait_registered(self) -> None:
        """Until the steps are registered; raises what stopped them first (a backend that cannot
        load: BACKEND_UNAVAILABLE naming what is missing)."""
        waiter = asyncio.ensure_future(self.registered.wait())
        try:
            await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not self.registered.is_set():
            self.task.result()  # raises the failure
            raise RuntimeError("the workers stopped before registering")


async def _load(steps: Sequence[HostedStep]) -> None:
    for hosted in steps:
        await asyncio.to_thread(hosted.load)
        hosted.loaded = True
        metrics.READY.labels(hosted.name, hosted.backend_name).set(1)
        log.info("step %s: backend %s loaded", hosted.name, hosted.backend_name)


async def _register(steps: Sequence[HostedStep], client: OrchestratorClient, worker_id: str) -> None:
    """Tell the orchestrator what each backend offers here (CreateJob checks jobs against it:
    FBX only where some export worker has Blender). Waits for the orchestrator like StartStep."""
    for hosted in steps:
        info = hosted.info()
        await client.register_worker(
            orchestrator_pb2.RegisterWorkerRequest(
                step=hosted.name,
                backend=hosted.backend_name,
                backend_version=info.version,
                features=hosted.features(),
                worker_id=worker_id,
            )
        )


@asynccontextmanager
async def running_workers(
    settings: Settings,
    step_names: Sequence[str],
    orchestrator_address: str,
    *,
    grpc_address: str | None = None,
) -> AsyncIterator[RunningWorkers]:
    """Host the steps: load backends, serve StepService (one step only), consume the queues."""
    steps = host_steps(list(step_names), settings)
    blobs = open_blob_store(settings)
    queue = open_queue(settings)
    secret = settings.secret("internal_token")
    client = OrchestratorClient(
        orchestrator_address, mint_worker_token(secret), settings.worker.orchestrator_retry_s
    )
    consumer = QueueConsumer(steps, queue, blobs, client, settings.worker)
    server: GrpcServer | None = None
    direct = StepExecutor(blobs, 1, settings.worker.progress_interval_s)
    if grpc_address is not None:
        if len(steps) != 1:
            raise ValueError("a StepService serves exactly one step")
        servicer = StepServicer(steps[0], direct)
        server = GrpcServer(
            [SERVICE_NAME],
            lambda s: step_pb2_grpc.add_StepServiceServicer_to_server(servicer, s),
            interceptors=step_interceptors(secret),
        )
    metrics_port = (
        metrics.serve_metrics(settings.metrics_port, settings.metrics_host)
        if settings.metrics_port is not None
        else None
    )
    ready, registered = asyncio.Event(), asyncio.Event()

    async def load_then_consume() -> None:
        await _load(steps)
        if server is not None:
            await server.set_serving(True)
        ready.set()
        await _register(steps, client, consumer.worker_id)
        registered.set()
        await consumer.run()

    port = await server.start(grpc_address) if server is not None and grpc_address is not None else None
    main = asyncio.create_task(load_then_consume(), name="worker")
    try:
        yield RunningWorkers(consumer, steps, port, metrics_port, ready, registered, main)
    finally:
        if server is not None:
            await server.set_serving(False)
        await consumer.drain(settings.worker.drain_grace_s)
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await main
        if server is not None:
            await server.stop(grace_s=2)
        direct.close()
        await client.close()
        await queue.close()
        await blobs.close()
