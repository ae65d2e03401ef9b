"""The asset library: versions at versioned paths, lineage, and search.

When a job's last step succeeds, its deliverables are copied to
`t/<tenant>/library/<project>/<asset>/v<n>/` and one asset version is recorded. Copying is
network I/O, so it never runs inside a transaction; publishing goes in three moves:

1. plan (`plan_version`, pure, inside the job's transaction): which files go where. When the
   transaction has no prepared version for the plan it raises `PublishFirst` (rolling back).
2. prepare (`prepare`, outside any transaction): claim a version number for the plan in a
   short transaction (`asset_version_claims`: one number per (job, plan), never shared by two
   plans, so no two jobs ever copy to the same paths), then copy the files there.
3. record (`record_version`, in the job's transaction, run again): the asset (created when
   new), its version row and latest_version, with the job's own changes.

A race (two jobs of one asset) gives each job its own number; a redelivery or a crash
between the moves gets the same claim back and copies the same bytes again;
asset_versions.job_id is unique, so no job ever gets a second version. A claim whose
transaction never commits (the job was cancelled meanwhile) leaves a gap in the numbers and
unreferenced copies, never a half-recorded version.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from assetcore.blobs.base import BlobStore, extension_for, library_key
from assetcore.db.database import Database
from assetcore.db.schema import asset_version_claims, asset_versions, assets
from assetcore.errors import InvalidArgument, NotFound, excerpt
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import job_pb2, library_pb2
from assetcore.steps.pipeline import Pipeline
from services.orchestrator import convert, dag, store
from services.orchestrator.principal import Principal
from services.orchestrator.rows import (
    ArtifactRow,
    AssetRow,
    AssetVersionRow,
    JobRow,
    StepRow,
    columns,
    current,
)

CLAIM_TRIES = 10
FileSuffix = Callable[[str], str | None]  # artifact name -> library file suffix

ASSET_COLUMNS = columns(AssetRow, assets)
VERSION_COLUMNS = columns(AssetVersionRow, asset_versions)
CLAIM_OF = select(asset_version_claims.c.version).where(
    asset_version_claims.c.job_id == bindparam("job_id"),
    asset_version_claims.c.plan_sha256 == bindparam("plan_sha256"),
)
LATEST_VERSION = select(assets.c.latest_version).where(assets.c.id == bindparam("asset_id"))
MAX_CLAIMED = select(func.max(asset_version_claims.c.version)).where(
    asset_version_claims.c.asset_id == bindparam("asset_id")
)
INSERT_CLAIM = insert(asset_version_claims)
ASSET_FOR_UPDATE = (
    select(assets.c.latest_version).where(assets.c.id == bindparam("asset_id")).with_for_update()
)
INSERT_ASSET = insert(assets)
SET_LATEST = update(assets).where(assets.c.id == bindparam("b_id"))
INSERT_VERSION = insert(asset_versions)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "asset"


def _file_name(base: str, artifact_name: str, media_type: str, file_suffix: FileSuffix) -> str:
    """The library's file name: the producing step's declared suffix, else from name and type."""
    suffix = file_suffix(artifact_name)
    return base + (suffix if suffix is not None else f"_{slug(artifact_name)}{extension_for(media_type)}")


def deliverables(
    step_rows: Sequence[StepRow], art_rows: Sequence[ArtifactRow], pipeline: Pipeline
) -> list[ArtifactRow]:
    """Outputs of the final steps, plus the latest concept image."""
    by_name = {s.name: s for s in step_rows}
    chosen: dict[str, ArtifactRow] = {}
    for name in pipeline.step_names:
        if not pipeline.children(name):
            for art in current(art_rows, by_name[name]):
                chosen.setdefault(art.name, art)
    for name in reversed(pipeline.step_names):
        image = next((a for a in current(art_rows, by_name[name]) if a.name == "image"), None)
        if image is not None:
            chosen.setdefault("image", image)
            break
    return list(chosen.values())


# -- publishing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedFile:
    source_key: str
    filename: str
    artifact: job_pb2.Artifact  # what the version lists (blob_key: set by placing it)


@dataclass(frozen=True, slots=True)
class Plan:
    """A job's deliverables and their file names in the library: what a version will hold."""

    job_id: str
    tenant_id: str
    project_id: str
    asset_id: str
    files: tuple[PlannedFile, ...]
    digest: str  # sha256 of the job id, the sources and the file names

    def target(self, version: int, file: PlannedFile) -> str:
        return library_key(self.tenant_id, self.project_id, self.asset_id, version, file.filename)

    def placed(self, version: int) -> list[job_pb2.Artifact]:
        """The version's files, at their library keys."""
        placed = []
        for file in self.files:
            message = job_pb2.Artifact()
            message.CopyFrom(file.artifact)
            message.blob_key = self.target(version, file)
            placed.append(message)
        return placed


class PublishFirst(Exception):
    """Raised inside a job's transaction (rolling it back): copy the plan's files, then rerun it."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"job {plan.job_id}: asset files to copy before the version is recorded")
        self.plan = plan


def plan_version(
    job: JobRow,
    job_input: job_pb2.JobInput,
    step_rows: Sequence[StepRow],
    art_rows: Sequence[ArtifactRow],
    pipeline: Pipeline,
    file_suffix: FileSuffix,
) -> Plan:
    """The files of the job's version: its deliverables and the final preview."""
    base = slug(job_input.name)
    files = [
        PlannedFile(
            art.blob_key, _file_name(base, art.name, art.media_type, file_suffix), convert.artifact(art)
        )
        for art in deliverables(step_rows, art_rows, pipeline)
    ]
    final = next((s for s in reversed(step_rows) if s.preview_key), None)
    if final is not None and final.preview_key:
        files.append(PlannedFile(final.preview_key, f"{base}_preview.png", convert.preview(final)))
    digest = hashlib.sha256(job.id.encode())
    for file in files:
        digest.update(f"\n{file.source_key}\t{file.filename}".encode())
    return Plan(
        job_id=job.id,
        tenant_id=job.tenant_id,
        project_id=job.project_id,
        asset_id=job.asset_id or "",
        files=tuple(files),
        digest=digest.hexdigest(),
    )


async def prepare(db: Database, blobs: BlobStore, plan: Plan) -> int:
    """Claim the plan's version number and copy its files there; returns the number.

    Outside any transaction. Run again for the same plan (a redelivery, a crash), it gets
    the same number back and copies the same bytes to the same keys.
    """
    version = await claim_version(db, plan)
    await asyncio.gather(*(blobs.copy(f.source_key, plan.target(version, f)) for f in plan.files))
    return version


async def claim_version(db: Database, plan: Plan) -> int:
    for _ in range(CLAIM_TRIES):
        try:
            return await db.write(lambda conn: _claim(conn, plan, time.time()))
        except IntegrityError:  # another plan took the number first (or this one, concurrently)
            continue
    raise RuntimeError(f"could not claim a version of asset {plan.asset_id} in {CLAIM_TRIES} tries")


def _claim(conn: Connection, plan: Plan, now: float) -> int:
    claimed = conn.execute(CLAIM_OF, {"job_id": plan.job_id, "plan_sha256": plan.digest}).scalar()
    if claimed is not None:
        return int(claimed)
    latest = conn.execute(LATEST_VERSION, {"asset_id": plan.asset_id}).scalar() or 0
    highest_claim = conn.execute(MAX_CLAIMED, {"asset_id": plan.asset_id}).scalar() or 0
    version = max(int(latest), int(highest_claim)) + 1
    conn.execute(
        INSERT_CLAIM,
        {
            "asset_id": plan.asset_id,
            "version": version,
            "job_id": plan.job_id,
            "plan_sha256": plan.digest,
            "claimed_at": now,
        },
    )
    return version


def asset_exists(conn: Connection, asset_id: str) -> bool:
    return conn.execute(LATEST_VERSION, {"asset_id": asset_id}).first() is not None


def record_version(
    conn: Connection, job: JobRow, job_input: job_pb2.JobInput, plan: Plan, version: int, now: float
) -> list[job_pb2.Artifact]:
    """In the job's transaction, after `prepare`: the asset (created when new) and its version."""
    asset_id = plan.asset_id
    latest = conn.execute(ASSET_FOR_UPDATE, {"asset_id": asset_id}).scalar()
    if latest is None:
        tags = list(job_input.tags)
        conn.execute(
            INSERT_ASSET,
            {
                "id": asset_id,
                "tenant_id": job.tenant_id,
                "project_id": job.project_id,
                "name": job_input.name,
                "asset_type": job_pb2.AssetType.Name(job_input.asset_type),
                "rig_type": job_pb2.RigType.Name(job_input.constraints.rig_type),
                "prompt": job_input.prompt.concept,
                "tags": json.dumps(tags),
                "search_text": " ".join([job_input.name, job_input.prompt.concept, *tags]).lower(),
                "latest_version": version,
                "created_at": now,
                "updated_at": now,
            },
        )
    else:  # versions may be recorded out of claim order: latest is the highest
        conn.execute(
            SET_LATEST, {"b_id": asset_id, "latest_version": max(int(latest), version), "updated_at": now}
        )
    files = plan.placed(version)
    conn.execute(
        INSERT_VERSION,
        {
            "asset_id": asset_id,
            "version": version,
            "job_id": job.id,
            "files": library_pb2.AssetVersion(files=files).SerializeToString(),
            "cost_usd": job.cost_usd,
            "created_at": now,
        },
    )
    return files


# -- reading -------------------------------------------------------------------------------------


def _owned(principal: Principal) -> Select[Any]:
    return select(*ASSET_COLUMNS).where(
        assets.c.tenant_id == principal.tenant_id, assets.c.project_id == principal.project_id
    )


async def require_asset(db: Database, principal: Principal, asset_id: str) -> None:
    found = await db.read(lambda conn: conn.execute(_owned(principal).where(assets.c.id == asset_id)).first())
    if found is None:
        raise NotFound(f"asset {asset_id} not found", field="input.asset_id")


def _lineage(conn: Connection, job_id: str) -> list[library_pb2.LineageEntry]:
    """Every artifact of the job's current step generations, with its step and input hashes."""
    job = store.job(conn, job_id)
    attachments = json.loads(job.attachments or "[]")
    step_rows = store.steps_of(conn, [job_id])
    pipeline = dag.job_dag(job, job_pb2.JobInput.FromString(job.input), step_rows)
    art_rows = store.artifacts_of(conn, [job_id])
    by_name = {s.name: s for s in step_rows}
    entries = []
    for step in step_rows:
        inputs: dict[str, str] = {}
        for ancestor in pipeline.ancestors(step.name):
            for art in current(art_rows, by_name[ancestor]):
                inputs.setdefault(art.name, art.sha256)
        for attachment in attachments:
            inputs.setdefault(attachment["name"], attachment["sha256"])
        for art in current(art_rows, step):
            entries.append(
                library_pb2.LineageEntry(
                    artifact=convert.artifact(art),
                    step_id=step.id,
                    step_name=step.name,
                    backend=step.backend or "",
                    backend_version=step.backend_version or "",
                    input_sha256=sorted(set(inputs.values())),
                )
            )
    return entries


def _versions(conn: Connection, asset_ids: list[str]) -> list[AssetVersionRow]:
    query = (
        select(*VERSION_COLUMNS)
        .where(asset_versions.c.asset_id.in_(asset_ids))
        .order_by(asset_versions.c.version.desc())
    )
    return [AssetVersionRow(*r) for r in conn.execute(query)] if asset_ids else []


async def get_asset(db: Database, principal: Principal, asset_id: str) -> library_pb2.Asset:
    if not is_valid_id("ast", asset_id):
        raise InvalidArgument(f"malformed id {excerpt(asset_id)!r}", field="asset_id")

    def load(conn: Connection) -> library_pb2.Asset:
        row = conn.execute(_owned(principal).where(assets.c.id == asset_id)).first()
        if row is None:
            raise NotFound(f"asset {asset_id} not found", field="asset_id")
        message = convert.asset(AssetRow(*row), _versions(conn, [asset_id]))
        for version in message.versions:
            version.lineage.extend(_lineage(conn, version.job_id))
        return message

    return await db.read(load)


async def list_assets(
    db: Database, principal: Principal, query_text: str, tags: Sequence[str], size: int, after: str | None
) -> tuple[list[library_pb2.Asset], bool]:
    query = _owned(principal).order_by(assets.c.id.desc()).limit(size + 1)
    for word in query_text.lower().split():
        query = query.where(assets.c.search_text.contains(word, autoescape=True))
    for tag in tags:
        query = query.where(assets.c.tags.contains(json.dumps(tag.lower()), autoescape=True))
    if after:
        query = query.where(assets.c.id < after)

    def load(conn: Connection) -> tuple[list[library_pb2.Asset], bool]:
        rows = [AssetRow(*r) for r in conn.execute(query)]
        page = rows[:size]
        versions = _versions(conn, [r.id for r in page])
        found = [convert.asset(r, [v for v in versions if v.asset_id == r.id]) for r in page]
        return found, len(rows) > size

    return await db.read(load)
