"""Deleting an asset version or a whole asset: library entries, files and blobs (a user's right).

One write transaction decides and records everything: the version rows (and, for a whole asset
or its last version, the asset row, which carries the search text and tags, and its version
claims) are deleted and the audit entry is written. The blobs to remove are the versions'
library files and every blob of the versions' producing jobs (artifacts, previews, attached
files), less those another job of the tenant still references (blobs are content-addressed per
tenant, so two jobs may share one). They are deleted after the commit, outside any
transaction (network I/O); the producing jobs stay as history, their file URLs now 404.

A job still running for a deleted asset fails with ASSET_DELETED when it would publish
(advance.py): deletion is never undone by a late version.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, delete, or_, select, update

from assetcore.blobs.base import BlobStore
from assetcore.db.database import Database
from assetcore.db.schema import artifacts, asset_version_claims, asset_versions, assets, jobs, steps
from assetcore.errors import InvalidArgument, NotFound, excerpt
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import library_pb2, orchestrator_pb2
from services.orchestrator import audit
from services.orchestrator.principal import Principal

DELETE_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Deletion:
    asset_id: str
    versions: list[int]
    asset_deleted: bool
    blob_keys: list[str]  # to remove once the rows are gone


def _check_id(asset_id: str) -> None:
    if not is_valid_id("ast", asset_id):
        raise InvalidArgument(f"malformed id {excerpt(asset_id)!r}", field="asset_id")


def _job_blobs(conn: Connection, job_ids: Sequence[str]) -> set[str]:
    """Every blob the jobs wrote or were given: artifacts, their previews, step previews, attachments."""
    keys: set[str] = set()
    for blob_key, preview_key in conn.execute(
        select(artifacts.c.blob_key, artifacts.c.preview_key).where(artifacts.c.job_id.in_(job_ids))
    ):
        keys.update(k for k in (blob_key, preview_key) if k)
    keys.update(
        k for (k,) in conn.execute(select(steps.c.preview_key).where(steps.c.job_id.in_(job_ids))) if k
    )
    for (attached,) in conn.execute(select(jobs.c.attachments).where(jobs.c.id.in_(job_ids))):
        keys.update(a["blob_key"] for a in _attachments(attached))
    return keys


def _attachments(text: str | None) -> list[dict[str, str]]:
    return list(json.loads(text)) if text else []


def _live_jobs(tenant_id: str, job_ids: Sequence[str]) -> Select[Any]:
    """The tenant's other jobs, less those whose version was deleted (they keep no files)."""
    published = select(asset_versions.c.job_id).where(asset_versions.c.job_id == jobs.c.id).exists()
    return select(jobs.c.id).where(
        jobs.c.tenant_id == tenant_id,
        jobs.c.id.not_in(job_ids),
        or_(jobs.c.asset_version.is_(None), published),
    )


def _still_referenced(conn: Connection, tenant_id: str, job_ids: Sequence[str], keys: set[str]) -> set[str]:
    """The keys another live job of the tenant references (the same content written twice)."""
    if not keys:
        return set()
    wanted = list(keys)
    live = _live_jobs(tenant_id, job_ids)
    found: set[str] = set()
    for column in (artifacts.c.blob_key, artifacts.c.preview_key):
        found.update(
            conn.execute(
                select(column).where(
                    artifacts.c.tenant_id == tenant_id, artifacts.c.job_id.in_(live), column.in_(wanted)
                )
            ).scalars()
        )
    found.update(
        conn.execute(
            select(steps.c.preview_key).where(
                steps.c.tenant_id == tenant_id, steps.c.job_id.in_(live), steps.c.preview_key.in_(wanted)
            )
        ).scalars()
    )
    attached = select(jobs.c.attachments).where(
        jobs.c.id.in_(live), or_(*(jobs.c.attachments.contains(key, autoescape=True) for key in wanted))
    )
    for (text,) in conn.execute(attached):
        found.update(a["blob_key"] for a in _attachments(text) if a["blob_key"] in keys)
    return found


def _plan(
    conn: Connection, principal: Principal, asset_id: str, version: int | None
) -> tuple[list[int], bool, list[str]]:
    """In the transaction: delete the rows, and say which versions went and which blobs to remove."""
    owned = conn.execute(
        select(assets.c.id)
        .where(
            assets.c.id == asset_id,
            assets.c.tenant_id == principal.tenant_id,
            assets.c.project_id == principal.project_id,
        )
        .with_for_update()
    ).first()
    if owned is None:
        raise NotFound(f"asset {asset_id} not found", field="asset_id")
    rows = conn.execute(
        select(asset_versions.c.version, asset_versions.c.job_id, asset_versions.c.files).where(
            asset_versions.c.asset_id == asset_id
        )
    ).all()
    chosen = [r for r in rows if version is None or r.version == version]
    if not chosen:
        raise NotFound(f"version {version} of asset {asset_id} not found", field="version")
    remaining = [r.version for r in rows if version is not None and r.version != version]
    job_ids = [r.job_id for r in chosen]
    keys = {f.blob_key for r in chosen for f in library_pb2.AssetVersion.FromString(r.files).files}
    keys |= _job_blobs(conn, job_ids)
    keys = {k for k in keys if k.startswith(f"t/{principal.tenant_id}/")}
    keys -= _still_referenced(conn, principal.tenant_id, job_ids, keys)
    versions = sorted(r.version for r in chosen)
    conn.execute(
        delete(asset_versions).where(
            asset_versions.c.asset_id == asset_id, asset_versions.c.version.in_(versions)
        )
    )
    if remaining:
        conn.execute(update(assets).where(assets.c.id == asset_id).values(latest_version=max(remaining)))
    else:
        conn.execute(delete(asset_version_claims).where(asset_version_claims.c.asset_id == asset_id))
        conn.execute(delete(assets).where(assets.c.id == asset_id))
    return versions, not remaining, sorted(keys)


async def _remove(blobs: BlobStore, keys: Iterable[str]) -> None:
    limit = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def one(key: str) -> None:
        async with limit:
            await blobs.delete(key)

    await asyncio.gather(*(one(k) for k in keys))


async def delete_asset(
    db: Database, blobs: BlobStore, principal: Principal, asset_id: str, version: int | None
) -> orchestrator_pb2.DeleteAssetResponse:
    """Delete one version (or, with version None, the whole asset); NOT_FOUND when already gone."""
    _check_id(asset_id)
    if version is not None and version < 1:
        raise InvalidArgument("must be 1 or more", field="version")

    def run(conn: Connection) -> Deletion:
        versions, asset_deleted, keys = _plan(conn, principal, asset_id, version)
        action = "asset.delete" if version is None else "asset_version.delete"
        audit.record(
            conn, principal, action, asset_id, versions=versions, asset_deleted=asset_deleted, blobs=len(keys)
        )
        return Deletion(asset_id, versions, asset_deleted, keys)

    done = await db.write(run)
    await _remove(blobs, done.blob_keys)
    return orchestrator_pb2.DeleteAssetResponse(
        asset_id=asset_id,
        versions=done.versions,
        asset_deleted=done.asset_deleted,
        blobs_deleted=len(done.blob_keys),
    )
