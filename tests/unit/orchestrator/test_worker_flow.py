"""Worker calls through the writer: a job runs to its asset version, with the files copied
outside the transactions, once, whatever is delivered twice or fails in between."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from assetcore.config import Settings
from assetcore.db.database import Database
from assetcore.db.schema import asset_versions, step_stats
from assetcore.events.notifier import JobNotifier
from assetcore.proto.v1 import job_pb2, orchestrator_pb2
from services.orchestrator import store
from services.orchestrator.eta import EtaModel
from services.orchestrator.jobtx import OutboxRow
from services.orchestrator.rows import JobRow
from services.orchestrator.states import RUNNING, SUCCEEDED
from services.orchestrator.worker_api import WorkerApi
from services.orchestrator.writer import JobWriter, Scope
from tests.unit.orchestrator.support import TENANT, MemoryBlobs, advancer, job_row, output, step_rows

RUN = orchestrator_pb2.START_DIRECTIVE_RUN


@dataclass
class Mesh:
    db: Database
    blobs: MemoryBlobs
    api: WorkerApi
    writer: JobWriter
    eta: EtaModel
    handed: list[OutboxRow] = field(default_factory=list)


@pytest.fixture
def mesh(db: Database, blobs: MemoryBlobs, settings: Settings) -> Mesh:
    handed: list[OutboxRow] = []
    writer = JobWriter(db, blobs, JobNotifier(), handed.extend, publish_events=False)
    model = EtaModel()
    return Mesh(db, blobs, WorkerApi(settings, model, writer, advancer(model)), writer, model, handed)


async def create(mesh: Mesh, job: JobRow) -> None:
    rows = step_rows(job)

    def new(scope: Scope) -> None:
        tx = scope.new_job(job)
        tx.add_steps(rows)
        advancer(mesh.eta)(tx, rows, [])

    await mesh.writer.write(new)


async def start(mesh: Mesh, job: JobRow, name: str) -> str:
    steps = await mesh.db.read(lambda conn: store.steps_of(conn, [job.id]))
    step = next(s for s in steps if s.name == name)
    started = await mesh.api.start_step(
        orchestrator_pb2.StartStepRequest(step_id=step.id, generation=step.generation, worker_id="w1")
    )
    assert started.directive == RUN
    return started.attempt_id


def completion(attempt_id: str, content: bytes, preview: str = "") -> orchestrator_pb2.CompleteStepRequest:
    return orchestrator_pb2.CompleteStepRequest(
        attempt_id=attempt_id,
        outputs=[output("image", content)],
        duration_seconds=2.0,
        pool="cpu",
        backend="noop",
        backend_version="1",
        preview=job_pb2.Artifact(name="preview", blob_key=preview),
    )


async def run_to_the_last_step(mesh: Mesh, job: JobRow) -> str:
    for content in (b"concept", b"refined", b"preview"):
        mesh.blobs.blobs[output("image", content).blob_key] = content
    await create(mesh, job)
    tti = await start(mesh, job, "tti")
    assert (await mesh.api.complete_step(completion(tti, b"concept"))).accepted
    return await start(mesh, job, "refine")


async def versions(db: Database) -> list[tuple[int, str]]:
    rows = await db.read(
        lambda conn: conn.execute(select(asset_versions.c.version, asset_versions.c.job_id)).all()
    )
    return [(int(v), str(j)) for v, j in rows]


async def test_the_last_completion_publishes_one_version_with_files_copied_first(mesh: Mesh) -> None:
    job = job_row("concept")
    refine = await run_to_the_last_step(mesh, job)
    preview_key = output("image", b"preview").blob_key
    assert (await mesh.api.complete_step(completion(refine, b"refined", preview_key))).accepted
    stored = await mesh.db.read(
        lambda conn: store.job_from(conn.execute(store.JOB, {"job_id": job.id}).one())
    )
    assert (stored.state, stored.asset_version) == (SUCCEEDED, 1)
    library = f"t/{TENANT}/library/{job.project_id}/{job.asset_id}/v1/"
    assert sorted(dst for _, dst in mesh.blobs.copies) == [
        library + "red_knight_concept.png",
        library + "red_knight_preview.png",
    ]
    assert mesh.blobs.blobs[library + "red_knight_concept.png"] == b"refined"
    assert await versions(mesh.db) == [(1, job.id)]
    samples = await mesh.db.read(
        lambda conn: conn.execute(select(step_stats.c.samples).where(step_stats.c.step == "refine")).scalar()
    )
    assert samples == 1, "the rolled-back first try did not count the duration twice"
    assert [step_task_name(r) for r in mesh.handed] == ["tti", "refine"], (
        "only committed rows are handed over"
    )

    again = await mesh.api.complete_step(completion(refine, b"refined", preview_key))
    assert not again.accepted, "a duplicate delivery changes nothing"
    assert await versions(mesh.db) == [(1, job.id)]
    assert len(mesh.blobs.copies) == 2


def step_task_name(row: OutboxRow) -> str:
    return str(row["topic"])


async def test_a_failed_copy_records_nothing_and_the_retry_reuses_the_claim(mesh: Mesh) -> None:
    job = job_row("concept")
    refine = await run_to_the_last_step(mesh, job)
    original_copy = mesh.blobs.copy

    async def broken(src: str, dst: str) -> None:
        raise OSError("the blob store is down")

    mesh.blobs.copy = broken  # type: ignore[method-assign]
    with pytest.raises(OSError):
        await mesh.api.complete_step(completion(refine, b"refined"))
    steps = await mesh.db.read(lambda conn: store.steps_of(conn, [job.id]))
    assert [s.state for s in steps] == [SUCCEEDED, RUNNING], "the step's result is not half recorded"
    assert await versions(mesh.db) == []

    mesh.blobs.copy = original_copy  # type: ignore[method-assign]
    assert (await mesh.api.complete_step(completion(refine, b"refined"))).accepted
    assert await versions(mesh.db) == [(1, job.id)]


async def test_jobs_of_one_asset_finishing_together_get_their_own_versions(mesh: Mesh) -> None:
    first = job_row("concept")
    await mesh.api.complete_step(completion(await run_to_the_last_step(mesh, first), b"refined"))
    others = [job_row("concept", asset_id=first.asset_id) for _ in range(3)]
    attempts = [await run_to_the_last_step(mesh, job) for job in others]
    results = await asyncio.gather(*(mesh.api.complete_step(completion(a, b"refined")) for a in attempts))
    assert all(r.accepted for r in results)
    found = await versions(mesh.db)
    assert sorted(v for v, _ in found) == [1, 2, 3, 4]
    assert len({j for _, j in found}) == 4, "one version per job"
    targets = [dst for _, dst in mesh.blobs.copies]
    assert len(targets) == len(set(targets)) == 4, "no two versions were ever copied to the same paths"
    count = await mesh.db.read(
        lambda conn: conn.execute(select(func.count()).select_from(asset_versions)).scalar()
    )
    assert count == 4
