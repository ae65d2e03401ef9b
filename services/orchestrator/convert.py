"""Database rows to protobuf messages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from assetcore.proto.v1 import job_pb2, library_pb2
from services.orchestrator.jobtx import loads_list, timestamp
from services.orchestrator.states import JOB_STATE_PROTO, STEP_STATE_PROTO

Row = Mapping[str, Any]


def artifact(row: Row) -> job_pb2.Artifact:
    return job_pb2.Artifact(
        name=row["name"],
        media_type=row["media_type"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        blob_key=row["blob_key"],
        preview_key=row["preview_key"] or "",
    )


def artifact_dict(a: job_pb2.Artifact) -> dict[str, Any]:
    return {
        "name": a.name,
        "media_type": a.media_type,
        "sha256": a.sha256,
        "size_bytes": a.size_bytes,
        "blob_key": a.blob_key,
        "preview_key": a.preview_key,
    }


def step(row: Row, artifacts: Iterable[Row], queue: job_pb2.QueueInfo | None = None) -> job_pb2.Step:
    msg = job_pb2.Step(
        id=row["id"],
        job_id=row["job_id"],
        name=row["name"],
        state=STEP_STATE_PROTO[row["state"]],
        depends_on=json.loads(row["depends_on"]),
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        generation=row["generation"],
        seed=row["seed"],
        backend=row["backend"] or "",
        backend_version=row["backend_version"] or "",
        pool=row["pool"] or "",
        duration_seconds=row["duration_s"] or 0.0,
        cost_usd=row["cost_usd"],
        progress=row["progress"],
        progress_message=row["progress_message"] or "",
        review_gate=row["review_gate"],
        review_notes=row["review_notes"] or "",
        cache_hit=row["cache_hit"],
        notes=loads_list(row["notes"]),
        outputs=[
            artifact(a)
            for a in artifacts
            if a["step_id"] == row["id"] and a["generation"] == row["generation"]
        ],
    )
    for field in ("queued_at", "started_at", "finished_at"):
        if row[field] is not None:
            getattr(msg, field).CopyFrom(timestamp(row[field]))
    if row["preview_key"]:
        msg.preview.CopyFrom(
            job_pb2.Artifact(name="preview", media_type="image/png", blob_key=row["preview_key"])
        )
    if row["error_code"]:
        msg.error.CopyFrom(job_pb2.Error(code=row["error_code"], message=row["error_message"] or ""))
    if queue is not None:
        msg.queue.CopyFrom(queue)
    return msg


def job(
    row: Row,
    steps: Iterable[Row],
    artifacts: Iterable[Row],
    *,
    queue: Mapping[str, job_pb2.QueueInfo] | None = None,
    transitions: Iterable[Row] = (),
    eta_seconds: float = 0.0,
) -> job_pb2.Job:
    artifacts = list(artifacts)
    msg = job_pb2.Job(
        id=row["id"],
        tenant_id=row["tenant_id"],
        project_id=row["project_id"],
        pipeline=row["pipeline"],
        state=JOB_STATE_PROTO[row["state"]],
        input=job_pb2.JobInput.FromString(row["input"]),
        steps=[step(s, artifacts, (queue or {}).get(s["id"])) for s in steps],
        created_at=timestamp(row["created_at"]),
        updated_at=timestamp(row["updated_at"]),
        cost_usd=row["cost_usd"],
        asset_id=row["asset_id"] or "",
        asset_version=row["asset_version"] or 0,
        eta_seconds=eta_seconds,
        idempotency_key=row["idempotency_key"] or "",
        transitions=[
            job_pb2.Transition(
                step=t["step_name"] or "",
                from_state=t["from_state"],
                to_state=t["to_state"],
                at=timestamp(t["at"]),
            )
            for t in transitions
        ],
    )
    if row["finished_at"] is not None:
        msg.finished_at.CopyFrom(timestamp(row["finished_at"]))
    if row["error_code"]:
        msg.error.CopyFrom(job_pb2.Error(code=row["error_code"], message=row["error_message"] or ""))
    return msg


def asset(row: Row, versions: Iterable[Row]) -> library_pb2.Asset:
    return library_pb2.Asset(
        id=row["id"],
        tenant_id=row["tenant_id"],
        project_id=row["project_id"],
        name=row["name"],
        asset_type=job_pb2.AssetType.Value(row["asset_type"]),
        rig_type=job_pb2.RigType.Value(row["rig_type"]),
        prompt=row["prompt"],
        tags=json.loads(row["tags"]),
        created_at=timestamp(row["created_at"]),
        updated_at=timestamp(row["updated_at"]),
        latest_version=row["latest_version"],
        versions=[asset_version(v) for v in versions],
    )


def asset_version(row: Row) -> library_pb2.AssetVersion:
    msg = library_pb2.AssetVersion.FromString(row["files"])
    msg.version = row["version"]
    msg.job_id = row["job_id"]
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    msg.cost_usd = row["cost_usd"]
    return msg
