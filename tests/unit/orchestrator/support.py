"""Builders of jobs, steps and artifacts for the orchestrator's unit tests."""

from __future__ import annotations

import asyncio
import hashlib
import time

from sqlalchemy import Connection

from assetcore.db.database import Database
from assetcore.ids import new_id
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from services.orchestrator import dag
from services.orchestrator.advance import Advance
from services.orchestrator.eta import EtaModel
from services.orchestrator.jobtx import JobTx
from services.orchestrator.rows import ArtifactRow, JobRow, StepRow
from services.orchestrator.states import QUEUED

TENANT, PROJECT = "ten_unit", "prj_unit"
CATALOG = load_catalog()


def advancer(eta_model: EtaModel | None = None) -> Advance:
    """The DAG advance with the installed steps' library file names."""
    return Advance(eta_model or EtaModel(), CATALOG.file_suffix)


def job_input(pipeline: str = "concept", name: str = "Red Knight", **fields: object) -> job_pb2.JobInput:
    message = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight in red armor"), pipeline=pipeline, name=name, seed=7
    )
    for key, value in fields.items():
        setattr(message, key, value)
    return message


def job_row(
    pipeline: str = "concept",
    *,
    asset_id: str | None = None,
    attachments: str | None = None,
    **fields: object,
) -> JobRow:
    now = time.time()
    return JobRow(
        id=new_id("job"),
        tenant_id=TENANT,
        project_id=PROJECT,
        pipeline=pipeline,
        state=QUEUED,
        input=job_input(pipeline, **fields).SerializeToString(),
        idempotency_key=None,
        priority=job_pb2.PRIORITY_NORMAL,
        event_seq=0,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        error_code=None,
        error_message=None,
        cost_usd=0.0,
        asset_id=asset_id or new_id("ast"),
        asset_version=None,
        attachments=attachments,
    )


def step_rows(job: JobRow, gates: tuple[str, ...] = ()) -> list[StepRow]:
    pipeline = CATALOG.pipelines[job.pipeline]
    return [
        dag.new_step(job, spec.name, i, spec.depends_on, 7, 3, spec.name in gates)
        for i, spec in enumerate(pipeline.steps)
    ]


def artifact(step: StepRow, name: str, content: bytes, media_type: str = "model/gltf-binary") -> ArtifactRow:
    sha = hashlib.sha256(content).hexdigest()
    return ArtifactRow(
        id=0,
        tenant_id=step.tenant_id,
        job_id=step.job_id,
        step_id=step.id,
        generation=step.generation,
        name=name,
        media_type=media_type,
        sha256=sha,
        size_bytes=len(content),
        blob_key=f"t/{step.tenant_id}/cas/{sha}",
        preview_key=None,
        created_at=time.time(),
    )


def output(name: str, content: bytes, media_type: str = "image/png") -> job_pb2.Artifact:
    sha = hashlib.sha256(content).hexdigest()
    return job_pb2.Artifact(
        name=name,
        media_type=media_type,
        sha256=sha,
        size_bytes=len(content),
        blob_key=f"t/{TENANT}/cas/{sha}",
    )


async def insert_job(db: Database, job: JobRow, steps: list[StepRow]) -> None:
    """The job and its steps as given (nothing queued)."""

    def insert(conn: Connection) -> None:
        tx = JobTx(conn, job, time.time(), publish_events=False, new=True)
        tx.add_steps(steps)
        tx.flush()

    await db.write(insert)


class MemoryBlobs:
    """A BlobStore in memory that records copies and checks none runs inside a write transaction."""

    def __init__(self, db: Database | None = None) -> None:
        self.blobs: dict[str, bytes] = {}
        self.copies: list[tuple[str, str]] = []
        self._db = db

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        self.blobs[key] = data

    async def get(self, key: str) -> bytes:
        return self.blobs[key]

    async def exists(self, key: str) -> bool:
        return key in self.blobs

    async def copy(self, src: str, dst: str) -> None:
        if self._db is not None:
            # SQLite has one writer: were this copy inside a write transaction, this would hang.
            await asyncio.wait_for(self._db.write(lambda conn: None), 5)
        self.blobs[dst] = self.blobs[src]
        self.copies.append((src, dst))

    async def close(self) -> None:
        return None
