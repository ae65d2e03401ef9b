"""Typed rows to protobuf messages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from assetcore.proto.v1 import job_pb2, library_pb2
from services.orchestrator.rows import (
    ArtifactRow,
    AssetRow,
    AssetVersionRow,
    FileLike,
    JobRow,
    StepRow,
    TransitionRow,
)
from services.orchestrator.states import JOB_STATE_PROTO, STEP_STATE_PROTO


def timestamp(at: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(at * 1e9))
    return ts


def loads_list(text: str | None) -> list[Any]:
    return list(json.loads(text)) if text else []


def artifact(row: FileLike) -> job_pb2.Artifact:
    return job_pb2.Artifact(
        name=row.name,
        media_type=row.media_type,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        blob_key=row.blob_key,
        preview_key=row.preview_key or "",
    )


def artifact_values(a: job_pb2.Artifact) -> dict[str, Any]:
    """An output artifact message as artifacts-table values (preview_key NULL when empty)."""
    return {
        "name": a.name,
        "media_type": a.media_type,
        "sha256": a.sha256,
        "size_bytes": a.size_bytes,
        "blob_key": a.blob_key,
        "preview_key": a.preview_key or None,
    }


def step(
    row: StepRow, artifacts: Iterable[ArtifactRow], queue: job_pb2.QueueInfo | None = None
) -> job_pb2.Step:
    msg = job_pb2.Step(
        id=row.id,
        job_id=row.job_id,
        name=row.name,
        state=STEP_STATE_PROTO[row.state],
        depends_on=row.parents,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        generation=row.generation,
        seed=row.seed,
        backend=row.backend or "",
        backend_version=row.backend_version or "",
        pool=row.pool or "",
        duration_seconds=row.duration_s or 0.0,
        cost_usd=row.cost_usd,
        progress=row.progress,
        progress_message=row.progress_message or "",
        review_gate=row.review_gate,
        review_notes=row.review_notes or "",
        cache_hit=row.cache_hit,
        notes=loads_list(row.notes),
        outputs=[artifact(a) for a in artifacts if a.step_id == row.id and a.generation == row.generation],
    )
    if row.queued_at is not None:
        msg.queued_at.CopyFrom(timestamp(row.queued_at))
    if row.started_at is not None:
        msg.started_at.CopyFrom(timestamp(row.started_at))
    if row.finished_at is not None:
        msg.finished_at.CopyFrom(timestamp(row.finished_at))
    if row.preview_key:
        msg.preview.CopyFrom(preview(row))
    if row.error_code:
        msg.error.CopyFrom(job_pb2.Error(code=row.error_code, message=row.error_message or ""))
    if queue is not None:
        msg.queue.CopyFrom(queue)
    return msg


def preview(row: StepRow) -> job_pb2.Artifact:
    """The step's latest preview image (size and digest unknown, 0 and "", for rows older than them)."""
    return job_pb2.Artifact(
        name="preview",
        media_type="image/png",
        blob_key=row.preview_key or "",
        sha256=row.preview_sha256 or "",
        size_bytes=row.preview_size_bytes or 0,
    )


def job(
    row: JobRow,
    steps: Iterable[StepRow],
    artifacts: Sequence[ArtifactRow],
    *,
    queue: Mapping[str, job_pb2.QueueInfo] | None = None,
    transitions: Iterable[TransitionRow] = (),
    eta_seconds: float = 0.0,
) -> job_pb2.Job:
    queue = queue or {}
    msg = job_pb2.Job(
        id=row.id,
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        pipeline=row.pipeline,
        state=JOB_STATE_PROTO[row.state],
        input=job_pb2.JobInput.FromString(row.input),
        steps=[step(s, artifacts, queue.get(s.id)) for s in steps],
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        cost_usd=row.cost_usd,
        asset_id=row.asset_id or "",
        asset_version=row.asset_version or 0,
        eta_seconds=eta_seconds,
        idempotency_key=row.idempotency_key or "",
        transitions=[
            job_pb2.Transition(
                step=t.step_name or "", from_state=t.from_state, to_state=t.to_state, at=timestamp(t.at)
            )
            for t in transitions
        ],
    )
    if row.finished_at is not None:
        msg.finished_at.CopyFrom(timestamp(row.finished_at))
    if row.error_code:
        msg.error.CopyFrom(job_pb2.Error(code=row.error_code, message=row.error_message or ""))
    return msg


def asset(row: AssetRow, versions: Iterable[AssetVersionRow]) -> library_pb2.Asset:
    return library_pb2.Asset(
        id=row.id,
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        name=row.name,
        asset_type=row.asset_type,  # stored as the enum value's name
        rig_type=row.rig_type,
        prompt=row.prompt,
        tags=json.loads(row.tags),
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        latest_version=row.latest_version,
        versions=[asset_version(v) for v in versions],
    )


def asset_version(row: AssetVersionRow) -> library_pb2.AssetVersion:
    msg = library_pb2.AssetVersion.FromString(row.files)
    msg.version = row.version
    msg.job_id = row.job_id
    msg.created_at.CopyFrom(timestamp(row.created_at))
    msg.cost_usd = row.cost_usd
    return msg
