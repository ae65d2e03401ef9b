"""The embedded mesh: orchestrator and all seven step workers in one process.

It is what `assetcore generate` runs, and the same code as the multi-process mesh: the
orchestrator serves gRPC on a loopback port, the workers consume the SQL-table queues and
call it over gRPC, blobs go to the data directory. Only the process boundary is missing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from assetcore.config import Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.keys import create_api_key
from assetcore.db.migrate import upgrade
from assetcore.steps.catalog import catalog_for
from assetcore.worker.service import RunningWorkers, running_workers

LOCAL_TENANT = "local"
LOCAL_PROJECT = "default"


def deployable(name: str) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """The `running(settings, ...)` lifespan of a deployable registered under assetcore.deployables."""
    for ep in entry_points(group="assetcore.deployables"):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    raise LookupError(f"no deployable named {name!r}")


async def local_api_key(settings: Settings) -> str:
    """The local tenant's admin key, created once and kept (0600) in the data directory."""
    path = settings.data_dir / ".local_api_key"
    if path.exists():
        return path.read_text().strip()
    url = settings.resolved_database_url()
    await upgrade(url)
    db = open_database(url)
    try:
        _, key = await create_api_key(db, LOCAL_TENANT, LOCAL_PROJECT, "admin", pepper=settings.key_pepper())
    finally:
        await close_database(db)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


@dataclass
class EmbeddedMesh:
    orchestrator_address: str
    api_key: str
    workers: RunningWorkers


@asynccontextmanager
async def embedded_mesh(
    settings: Settings, steps: Sequence[str] | None = None
) -> AsyncIterator[EmbeddedMesh]:
    """The orchestrator and workers for `steps` (default: every step of the deployment's catalog;
    `generate` hosts only its job's pipeline, so it loads no model another pipeline needs)."""
    key = await local_api_key(settings)
    orchestrator = deployable("orchestrator")
    async with contextlib.AsyncExitStack() as stack:
        running = await stack.enter_async_context(orchestrator(settings, address="127.0.0.1:0"))
        workers = await stack.enter_async_context(
            running_workers(settings, steps or catalog_for(settings).step_names, running.address)
        )
        await workers.wait_registered()  # jobs are checked against what the workers offer
        yield EmbeddedMesh(running.address, key, workers)
