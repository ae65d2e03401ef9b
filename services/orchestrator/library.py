"""The asset library: versions at versioned paths, lineage, and search.

When a job's last step succeeds, its deliverables are copied to
`t/<tenant>/library/<project>/<asset>/v<n>/` and one asset version is recorded — in the
job's own transaction, with asset_versions.job_id unique, so no redelivery or retry can
ever add a second version for the same job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assetcore.blobs.base import BlobStore, extension_for, library_key
from assetcore.db.engine import reading
from assetcore.db.schema import artifacts, asset_versions, assets, steps
from assetcore.errors import InvalidArgument, NotFound
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import job_pb2, library_pb2
from services.orchestrator import convert
from services.orchestrator.pipelines import Pipeline

Row = Mapping[str, Any]
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


def deliverables(step_rows: Sequence[Row], art_rows: Sequence[Row], pipeline: Pipeline) -> list[Row]:
    """Outputs of the final steps, plus the concept image, plus the final preview."""
    current = {s["id"]: s["generation"] for s in step_rows}
    by_step = {s["name"]: s for s in step_rows}
    finals = [s for s in pipeline.step_names if not pipeline.children(s)]
    chosen: dict[str, Row] = {}
    for name in finals:
        step = by_step[name]
        for art in art_rows:
            if art["step_id"] == step["id"] and art["generation"] == current[step["id"]]:
                chosen.setdefault(art["name"], art)
    for name in reversed(pipeline.step_names):  # the latest concept image
        step = by_step[name]
        image = next(
            (
                a
                for a in art_rows
                if a["step_id"] == step["id"]
                and a["generation"] == step["generation"]
                and a["name"] == "image"
            ),
            None,
        )
        if image is not None:
            chosen.setdefault("image", image)
            break
    return list(chosen.values())


async def publish_version(
    conn: AsyncConnection,
    blobs: BlobStore,
    job: Row,
    job_input: job_pb2.JobInput,
    step_rows: Sequence[Row],
    art_rows: Sequence[Row],
    pipeline: Pipeline,
    now: float,
) -> tuple[int, list[job_pb2.Artifact]]:
    asset_id = job["asset_id"]
    asset = (await conn.execute(select(assets).where(assets.c.id == asset_id).with_for_update())).first()
    if asset is None:
        tags = list(job_input.tags)
        await conn.execute(
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
    files = []
    for art in deliverables(step_rows, art_rows, pipeline):
        key = library_key(
            job["tenant_id"],
            job["project_id"],
            asset_id,
            version,
            _file_name(base, art["name"], art["media_type"]),
        )
        await blobs.copy(art["blob_key"], key)
        file = convert.artifact(art)
        file.blob_key = key
        files.append(file)
    final_preview = next((s["preview_key"] for s in reversed(step_rows) if s["preview_key"]), None)
    if final_preview:
        key = library_key(job["tenant_id"], job["project_id"], asset_id, version, f"{base}_preview.png")
        await blobs.copy(final_preview, key)
        files.append(job_pb2.Artifact(name="preview", media_type="image/png", blob_key=key))
    record = library_pb2.AssetVersion(files=files)
    await conn.execute(
        insert(asset_versions).values(
            asset_id=asset_id,
            version=version,
            job_id=job["id"],
            files=record.SerializeToString(),
            cost_usd=job["cost_usd"],
            created_at=now,
        )
    )
    await conn.execute(
        update(assets).where(assets.c.id == asset_id).values(latest_version=version, updated_at=now)
    )
    return version, files


async def require_asset(engine: AsyncEngine, principal: Any, asset_id: str) -> None:
    async with reading(engine) as conn:
        found = (await conn.execute(_owned(principal).where(assets.c.id == asset_id))).first()
    if found is None:
        raise NotFound(f"asset {asset_id} not found", field="input.asset_id")


def _owned(principal: Any) -> Any:
    return select(assets).where(
        assets.c.tenant_id == principal.tenant_id, assets.c.project_id == principal.project_id
    )


async def _lineage(conn: AsyncConnection, job_id: str) -> list[library_pb2.LineageEntry]:
    rows = (
        (
            await conn.execute(
                select(artifacts, steps.c.name.label("step_name"), steps.c.backend, steps.c.backend_version)
                .join(steps, steps.c.id == artifacts.c.step_id)
                .where(artifacts.c.job_id == job_id, artifacts.c.generation == steps.c.generation)
                .order_by(steps.c.ordinal, artifacts.c.id)
            )
        )
        .mappings()
        .all()
    )
    step_inputs = await _step_inputs(conn, job_id)
    return [
        library_pb2.LineageEntry(
            artifact=convert.artifact(r),
            step_id=r["step_id"],
            step_name=r["step_name"],
            backend=r["backend"] or "",
            backend_version=r["backend_version"] or "",
            input_sha256=step_inputs.get(r["step_id"], []),
        )
        for r in rows
    ]


async def _step_inputs(conn: AsyncConnection, job_id: str) -> dict[str, list[str]]:
    """Each step's input hashes: the outputs of its ancestors' current generations."""
    from services.orchestrator.pipelines import PIPELINES
    from assetcore.db.schema import jobs

    pipeline_name = (await conn.execute(select(jobs.c.pipeline).where(jobs.c.id == job_id))).scalar_one()
    pipeline = PIPELINES[pipeline_name]
    step_rows = (await conn.execute(select(steps).where(steps.c.job_id == job_id))).mappings().all()
    by_name = {s["name"]: s for s in step_rows}
    art_rows = (await conn.execute(select(artifacts).where(artifacts.c.job_id == job_id))).mappings().all()
    result = {}
    for step in step_rows:
        hashes: dict[str, str] = {}
        for ancestor in pipeline.ancestors(step["name"]):
            parent = by_name[ancestor]
            for art in art_rows:
                if art["step_id"] == parent["id"] and art["generation"] == parent["generation"]:
                    hashes.setdefault(art["name"], art["sha256"])
        result[step["id"]] = sorted(set(hashes.values()))
    return result


async def get_asset(engine: AsyncEngine, principal: Any, asset_id: str) -> library_pb2.Asset:
    if not is_valid_id("ast", asset_id):
        raise InvalidArgument(f"malformed id {asset_id!r}", field="asset_id")
    async with reading(engine) as conn:
        row = (await conn.execute(_owned(principal).where(assets.c.id == asset_id))).mappings().first()
        if row is None:
            raise NotFound(f"asset {asset_id} not found", field="asset_id")
        versions = (
            (
                await conn.execute(
                    select(asset_versions)
                    .where(asset_versions.c.asset_id == asset_id)
                    .order_by(asset_versions.c.version.desc())
                )
            )
            .mappings()
            .all()
        )
        message = convert.asset(row, versions)
        for version in message.versions:
            version.lineage.extend(await _lineage(conn, version.job_id))
    return message


async def list_assets(
    engine: AsyncEngine, principal: Any, query_text: str, tags: Sequence[str], size: int, after: str | None
) -> tuple[list[library_pb2.Asset], bool]:
    query = _owned(principal).order_by(assets.c.id.desc()).limit(size + 1)
    for word in query_text.lower().split():
        query = query.where(assets.c.search_text.contains(word, autoescape=True))
    for tag in tags:
        query = query.where(assets.c.tags.contains(json.dumps(tag.lower()), autoescape=True))
    if after:
        query = query.where(assets.c.id < after)
    async with reading(engine) as conn:
        rows = (await conn.execute(query)).mappings().all()
        page = rows[:size]
        versions = (
            (
                await conn.execute(
                    select(asset_versions)
                    .where(asset_versions.c.asset_id.in_([r["id"] for r in page]))
                    .order_by(asset_versions.c.version.desc())
                )
            )
            .mappings()
            .all()
        )
    return [convert.asset(r, [v for v in versions if v["asset_id"] == r["id"]]) for r in page], len(
        rows
    ) > size
