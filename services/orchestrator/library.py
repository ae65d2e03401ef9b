"""The asset library: versions at versioned paths, lineage, and search.

When a job's last step succeeds, its deliverables are copied to
`t/<tenant>/library/<project>/<asset>/v<n>/` and one asset version is recorded — in the
job's own transaction, with asset_versions.job_id unique, so no redelivery or retry can
ever add a second version for the same job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from assetcore.blobs.base import extension_for, library_key
from assetcore.db.database import Database
from assetcore.db.schema import artifacts, asset_versions, assets, jobs, steps
from assetcore.errors import InvalidArgument, NotFound
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import job_pb2, library_pb2
from services.orchestrator import convert
from services.orchestrator.pipelines import PIPELINES, Pipeline

Row = Mapping[str, Any]
CopyBlob = Callable[[str, str], None]
# Deliverable artifact name -> file name suffix in the library.
FILE_SUFFIXES = {
    "glb": ".glb",
    "fbx": ".fbx",
    "lod1_glb": "_lod1.glb",
    "lod2_glb": "_lod2.glb",
    "manifest": "_manifest.json",
    "image": "_concept.png",
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "asset"


def _file_name(base: str, artifact_name: str, media_type: str) -> str:
    return base + FILE_SUFFIXES.get(artifact_name, f"_{slug(artifact_name)}{extension_for(media_type)}")


def _current(art_rows: Sequence[Row], step: Row) -> list[Row]:
    return [a for a in art_rows if a["step_id"] == step["id"] and a["generation"] == step["generation"]]


def deliverables(step_rows: Sequence[Row], art_rows: Sequence[Row], pipeline: Pipeline) -> list[Row]:
    """Outputs of the final steps, plus the latest concept image."""
    by_name = {s["name"]: s for s in step_rows}
    chosen: dict[str, Row] = {}
    for name in pipeline.step_names:
        if not pipeline.children(name):
            for art in _current(art_rows, by_name[name]):
                chosen.setdefault(art["name"], art)
    for name in reversed(pipeline.step_names):
        image = next((a for a in _current(art_rows, by_name[name]) if a["name"] == "image"), None)
        if image is not None:
            chosen.setdefault("image", image)
            break
    return list(chosen.values())


def publish_version(
    conn: Connection,
    copy: CopyBlob,
    job: Row,
    job_input: job_pb2.JobInput,
    step_rows: Sequence[Row],
    art_rows: Sequence[Row],
    pipeline: Pipeline,
    now: float,
) -> tuple[int, list[job_pb2.Artifact]]:
    """Record the job's asset version (creating the asset when new) and copy its files."""
    asset_id = job["asset_id"]
    asset = conn.execute(select(assets).where(assets.c.id == asset_id).with_for_update()).first()
    if asset is None:
        tags = list(job_input.tags)
        conn.execute(
            insert(assets).values(
                id=asset_id,
                tenant_id=job["tenant_id"],
                project_id=job["project_id"],
                name=job_input.name,
                asset_type=job_pb2.AssetType.Name(job_input.asset_type),
                rig_type=job_pb2.RigType.Name(job_input.constraints.rig_type),
                prompt=job_input.prompt.concept,
                tags=json.dumps(tags),
                search_text=" ".join([job_input.name, job_input.prompt.concept, *tags]).lower(),
                latest_version=0,
                created_at=now,
                updated_at=now,
            )
        )
        version = 1
    else:
        version = asset.latest_version + 1
    base = slug(job_input.name)

    def place(source_key: str, filename: str) -> str:
        key = library_key(job["tenant_id"], job["project_id"], asset_id, version, filename)
        copy(source_key, key)
        return key

    files = []
    for art in deliverables(step_rows, art_rows, pipeline):
        file = convert.artifact(art)
        file.blob_key = place(art["blob_key"], _file_name(base, art["name"], art["media_type"]))
        files.append(file)
    final_preview = next((s["preview_key"] for s in reversed(step_rows) if s["preview_key"]), None)
    if final_preview:
        key = place(final_preview, f"{base}_preview.png")
        files.append(job_pb2.Artifact(name="preview", media_type="image/png", blob_key=key))
    conn.execute(
        insert(asset_versions).values(
            asset_id=asset_id,
            version=version,
            job_id=job["id"],
            files=library_pb2.AssetVersion(files=files).SerializeToString(),
            cost_usd=job["cost_usd"],
            created_at=now,
        )
    )
    conn.execute(update(assets).where(assets.c.id == asset_id).values(latest_version=version, updated_at=now))
    return version, files


def _owned(principal: Any) -> Any:
    return select(assets).where(
        assets.c.tenant_id == principal.tenant_id, assets.c.project_id == principal.project_id
    )


async def require_asset(db: Database, principal: Any, asset_id: str) -> None:
    found = await db.read(lambda conn: conn.execute(_owned(principal).where(assets.c.id == asset_id)).first())
    if found is None:
        raise NotFound(f"asset {asset_id} not found", field="input.asset_id")


def _lineage(conn: Connection, job_id: str) -> list[library_pb2.LineageEntry]:
    """Every artifact of the job's current step generations, with its step and input hashes."""
    job = conn.execute(select(jobs.c.pipeline, jobs.c.attachments).where(jobs.c.id == job_id)).one()
    pipeline = PIPELINES[job.pipeline]
    attachments = json.loads(job.attachments or "[]")
    step_rows = (
        conn.execute(select(steps).where(steps.c.job_id == job_id).order_by(steps.c.ordinal)).mappings().all()
    )
    art_rows = (
        conn.execute(select(artifacts).where(artifacts.c.job_id == job_id).order_by(artifacts.c.id))
        .mappings()
        .all()
    )
    by_name = {s["name"]: s for s in step_rows}
    entries = []
    for step in step_rows:
        inputs: dict[str, str] = {}
        for ancestor in pipeline.ancestors(step["name"]):
            for art in _current(art_rows, by_name[ancestor]):
                inputs.setdefault(art["name"], art["sha256"])
        for attachment in attachments:
            inputs.setdefault(attachment["name"], attachment["sha256"])
        for art in _current(art_rows, step):
            entries.append(
                library_pb2.LineageEntry(
                    artifact=convert.artifact(art),
                    step_id=step["id"],
                    step_name=step["name"],
                    backend=step["backend"] or "",
                    backend_version=step["backend_version"] or "",
                    input_sha256=sorted(set(inputs.values())),
                )
            )
    return entries


async def get_asset(db: Database, principal: Any, asset_id: str) -> library_pb2.Asset:
    if not is_valid_id("ast", asset_id):
        raise InvalidArgument(f"malformed id {asset_id!r}", field="asset_id")

    def load(conn: Connection) -> library_pb2.Asset:
        row = conn.execute(_owned(principal).where(assets.c.id == asset_id)).mappings().first()
        if row is None:
            raise NotFound(f"asset {asset_id} not found", field="asset_id")
        versions = (
            conn.execute(
                select(asset_versions)
                .where(asset_versions.c.asset_id == asset_id)
                .order_by(asset_versions.c.version.desc())
            )
            .mappings()
            .all()
        )
        message = convert.asset(row, versions)
        for version in message.versions:
            version.lineage.extend(_lineage(conn, version.job_id))
        return message

    return await db.read(load)


async def list_assets(
    db: Database, principal: Any, query_text: str, tags: Sequence[str], size: int, after: str | None
) -> tuple[list[library_pb2.Asset], bool]:
    query = _owned(principal).order_by(assets.c.id.desc()).limit(size + 1)
    for word in query_text.lower().split():
        query = query.where(assets.c.search_text.contains(word, autoescape=True))
    for tag in tags:
        query = query.where(assets.c.tags.contains(json.dumps(tag.lower()), autoescape=True))
    if after:
        query = query.where(assets.c.id < after)

    def load(conn: Connection) -> tuple[list[library_pb2.Asset], bool]:
        rows = conn.execute(query).mappings().all()
        page = rows[:size]
        versions = (
            conn.execute(
                select(asset_versions)
                .where(asset_versions.c.asset_id.in_([r["id"] for r in page]))
                .order_by(asset_versions.c.version.desc())
            )
            .mappings()
            .all()
        )
        found = [convert.asset(r, [v for v in versions if v["asset_id"] == r["id"]]) for r in page]
        return found, len(rows) > size

    return await db.read(load)
