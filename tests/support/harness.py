"""The embedded mesh (real orchestrator, queues and workers in this process) driven over gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from assetcore.adapters import open_queue
from assetcore.config import Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.keys import create_api_key
from assetcore.embedded import EmbeddedMesh, embedded_mesh
from assetcore.proto.v1 import events_pb2, job_pb2
from assetcore.queues.base import QueueDepth
from assetcore.rpc.client import OrchestratorApi


def job_input(prompt: str = "a knight", **fields: Any) -> job_pb2.JobInput:
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt))
    for name, value in fields.items():
        if name == "step_options":
            for step, options in value.items():
                job.step_options[step].update(options)
        elif isinstance(value, list):
            getattr(job, name).extend(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                setattr(getattr(job, name), key, inner)
        else:
            setattr(job, name, value)
    return job


@dataclass
class Harness:
    api: OrchestratorApi
    key: str
    settings: Settings
    mesh: EmbeddedMesh

    async def create(self, prompt: str = "a knight", **fields: Any) -> job_pb2.Job:
        return (await self.api.create_job(self.key, job_input(prompt, **fields))).job

    async def events(
        self, job_id: str, timeout_s: float = 60.0, *, after: int = 0, until_review: bool = True
    ) -> list[events_pb2.JobEvent]:
        """A job's events after `after`, until its end (or until it waits for review)."""

        async def collect() -> list[events_pb2.JobEvent]:
            seen = []
            async for event in self.api.watch_job(self.key, job_id, after):
                seen.append(event)
                if until_review and event.WhichOneof("kind") == "review_needed":
                    break
            return seen

        return await asyncio.wait_for(collect(), timeout_s)

    async def finish(self, job_id: str, timeout_s: float = 60.0) -> job_pb2.Job:
        await self.events(job_id, timeout_s, until_review=False)
        return await self.api.get_job(self.key, job_id)

    async def key_for(self, tenant: str, project: str = "default", role: str = "editor") -> str:
        db = open_database(self.settings.resolved_database_url())
        try:
            return (await create_api_key(db, tenant, project, role, pepper=self.settings.key_pepper()))[1]
        finally:
            await close_database(db)

    async def wait_depth(self, queue: str, *, dead: int, timeout_s: float = 30.0) -> QueueDepth:
        """The queue's depth once its DLQ holds `dead` messages (or at the deadline): a job reads
        as failed before its message is dead-lettered (docs/architecture.md)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (depth := await self.depth(queue)).dead < dead and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return depth

    async def depth(self, queue: str) -> QueueDepth:
        q = open_queue(self.settings)
        try:
            return await q.depth(queue)
        finally:
            await q.close()


@asynccontextmanager
async def embedded(settings: Settings) -> AsyncIterator[Harness]:
    async with embedded_mesh(settings) as mesh:
        api = OrchestratorApi(mesh.orchestrator_address)
        try:
            yield Harness(api, mesh.api_key, settings, mesh)
        finally:
            await api.close()


def kinds(events: list[events_pb2.JobEvent], step: str | None = None) -> list[str]:
    return [str(e.WhichOneof("kind")) for e in events if step is None or e.step_name == step]
