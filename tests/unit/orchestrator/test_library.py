"""Library publishing: plan in the transaction, claim and copy outside it, record in it.

Races (two jobs of one asset) never share a version's paths; a redelivery gets its claim
back; a job never gets a second version.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from assetcore.db.database import Database
from assetcore.db.schema import asset_version_claims, asset_versions, assets
from services.orchestrator import library
from services.orchestrator.rows import ArtifactRow, JobRow, StepRow
from services.orchestrator.states import SUCCEEDED
from tests.unit.orchestrator.support import CATALOG, MemoryBlobs, artifact, job_input, job_row, step_rows


def finished_character(job: JobRow) -> tuple[list[StepRow], list[ArtifactRow]]:
    rows = step_rows(job)
    for step in rows:
        step.state = SUCCEEDED
    by_name = {s.name: s for s in rows}
    by_name["image3d"].preview_key = "t/x/cas/mesh-preview"
    by_name["export"].preview_key = "t/x/cas/final-preview"
    arts = [
        artifact(by_name["tti"], "image", b"concept", "image/png"),
        artifact(by_name["refine"], "image", b"refined", "image/png"),
        artifact(by_name["retopo"], "mesh", b"mesh"),
        artifact(by_name["export"], "glb", b"glb " + job.id.encode()),
        artifact(by_name["export"], "fbx", b"fbx", "application/octet-stream"),
        artifact(by_name["export"], "manifest", b"{}", "application/json"),
    ]
    return rows, arts


def plan_for(job: JobRow) -> library.Plan:
    rows, arts = finished_character(job)
    return library.plan_version(
        job, job_input("character"), rows, arts, CATALOG.pipelines["character"], CATALOG.file_suffix
    )


def test_the_plan_holds_the_final_outputs_the_latest_concept_and_the_final_preview() -> None:
    job = job_row("character")
    plan = plan_for(job)
    assert [(f.artifact.name, f.filename) for f in plan.files] == [
        ("glb", "red_knight.glb"),
        ("fbx", "red_knight.fbx"),
        ("manifest", "red_knight_manifest.json"),
        ("image", "red_knight_concept.png"),
        ("preview", "red_knight_preview.png"),
    ]
    assert plan.files[3].artifact.sha256 == finished_character(job)[1][1].sha256, "refine's, not tti's"
    assert plan.files[4].source_key == "t/x/cas/final-preview"
    assert plan_for(job).digest == plan.digest, "a plan is deterministic"
    assert plan_for(job_row("character")).digest != plan.digest
    [glb] = [f for f in plan.placed(3) if f.name == "glb"]
    assert glb.blob_key == f"t/{job.tenant_id}/library/{job.project_id}/{job.asset_id}/v3/red_knight.glb"


def seed_blobs(blobs: MemoryBlobs, plan: library.Plan) -> None:
    for file in plan.files:
        blobs.blobs[file.source_key] = file.source_key.encode()


async def test_prepare_claims_a_number_and_copies_outside_any_transaction(
    db: Database, blobs: MemoryBlobs
) -> None:
    plan = plan_for(job_row("character"))
    seed_blobs(blobs, plan)
    assert await library.prepare(db, blobs, plan) == 1  # MemoryBlobs fails a copy made in a transaction
    assert {dst for _, dst in blobs.copies} == {plan.target(1, f) for f in plan.files}
    again = await library.prepare(db, blobs, plan)
    assert again == 1, "a redelivery or a crash gets the same claim back"
    assert len(blobs.copies) == 2 * len(plan.files), "and copies the same bytes again"


async def test_two_jobs_of_one_asset_never_share_a_versions_paths(db: Database, blobs: MemoryBlobs) -> None:
    first = job_row("character")
    await record(db, first, plan_for(first), 1)
    a, b = job_row("character", asset_id=first.asset_id), job_row("character", asset_id=first.asset_id)
    plan_a, plan_b = plan_for(a), plan_for(b)
    for plan in (plan_a, plan_b):
        seed_blobs(blobs, plan)
    version_a, version_b = await asyncio.gather(
        library.prepare(db, blobs, plan_a), library.prepare(db, blobs, plan_b)
    )
    assert {version_a, version_b} == {2, 3}
    paths_a = {plan_a.target(version_a, f) for f in plan_a.files}
    assert paths_a.isdisjoint(plan_b.target(version_b, f) for f in plan_b.files)
    # Recorded out of claim order, latest_version is still the highest.
    await record(db, b, plan_b, version_b)
    await record(db, a, plan_a, version_a)
    latest = await db.read(lambda conn: conn.execute(select(assets.c.latest_version)).scalar())
    assert latest == 3
    versions = await db.read(
        lambda conn: conn.execute(select(asset_versions.c.version, asset_versions.c.job_id)).all()
    )
    assert sorted(tuple(v) for v in versions) == sorted([(1, first.id), (version_a, a.id), (version_b, b.id)])


async def test_another_plan_of_the_same_job_gets_another_number(db: Database, blobs: MemoryBlobs) -> None:
    """A non-deterministic redelivery with other bytes never overwrites the first plan's files."""
    job = job_row("character")
    plan = plan_for(job)
    rows, arts = finished_character(job)
    arts[3] = artifact(rows[-1], "glb", b"other bytes")
    other = library.plan_version(
        job, job_input("character"), rows, arts, CATALOG.pipelines["character"], CATALOG.file_suffix
    )
    assert other.digest != plan.digest
    assert await library.claim_version(db, plan) == 1
    assert await library.claim_version(db, other) == 2
    await record(db, job, other, 2)
    with pytest.raises(IntegrityError):
        await record(db, job, plan, 1)  # asset_versions.job_id is unique: one version per job, ever
    claims = await db.read(lambda conn: conn.execute(select(asset_version_claims.c.version)).scalars().all())
    assert sorted(claims) == [1, 2]


async def record(db: Database, job: JobRow, plan: library.Plan, version: int) -> None:
    def body(conn: Connection) -> None:
        library.record_version(conn, job, job_input("character"), plan, version, time.time())

    await db.write(body)
