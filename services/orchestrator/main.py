"""The orchestrator deployable: gRPC OrchestratorService + the outbox relay, with lifespan.

`running(settings)` is used by `assetcore serve orchestrator` (one process) and by the
embedded `generate` (alongside the workers, in one process); both run the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from assetcore.adapters import open_blob_store, open_publisher, open_queue
from assetcore.config import Settings
from assetcore.db.database import Database, close_database, open_database
from assetcore.db.migrate import upgrade_all
from assetcore.events.notifier import JobNotifier
from assetcore.events.relay import OutboxRelay
from assetcore.proto.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.server import GrpcServer
from services.orchestrator.auth import Authenticator
from services.orchestrator.core import Orchestrator
from services.orchestrator.servicer import OrchestratorServicer

SERVICE_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name


@dataclass
class RunningOrchestrator:
    address: str
    core: Orchestrator
    db: Database
    relay: OutboxRelay


@asynccontextmanager
async def running(settings: Settings, address: str | None = None) -> AsyncIterator[RunningOrchestrator]:
    await upgrade_all(settings)
    db = open_database(settings.resolved_database_url())
    blobs = open_blob_store(settings)
    queue = open_queue(settings)
    publisher = open_publisher(settings)
    relay = OutboxRelay(db, queue, publisher)
    core = Orchestrator(
        db, blobs, settings, JobNotifier(), relay.committed, publish_events=publisher is not None
    )
    auth = Authenticator(
        db, settings.secret("internal_token"), settings.key_pepper(), settings.auth.key_cache_ttl_s
    )
    servicer = OrchestratorServicer(core, auth)
    server = GrpcServer(
        [SERVICE_NAME],
        lambda s: orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(servicer, s),
        interceptors=servicer.interceptors(),
    )
    relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    try:
        port = await server.start(address or settings.orchestrator_address)
        await server.set_serving(True)
        host = (address or settings.orchestrator_address).rsplit(":", 1)[0]
        yield RunningOrchestrator(address=f"{host}:{port}", core=core, db=db, relay=relay)
    finally:
        await server.stop(grace_s=5)
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await queue.close()
        await blobs.close()
        if publisher is not None:
            await publisher.close()
        await close_database(db)
