"""GraphQL output types, built from the orchestrator's protobuf messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypedDict, cast

import strawberry
from google.protobuf.timestamp_pb2 import Timestamp
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from assetcore.job_warnings import job_warnings
from assetcore.proto.v1 import events_pb2, job_pb2, library_pb2, orchestrator_pb2
from gateway.context import context_of

Resolver = Callable[..., Any]


def documented(decorator: Callable[..., Any], description: str) -> Callable[[Resolver], StrawberryField]:
    """`decorator(description=...)` (strawberry.field, .mutation, .subscription), typed: strawberry's
    overload for a decorator call with keyword arguments only returns Any."""
    decorate: Callable[[Resolver], StrawberryField] = decorator(description=description)
    return decorate


def _time(ts: Timestamp, present: bool = True) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


@strawberry.enum
class JobState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def from_proto(cls, value: int) -> JobState:
        return cls(job_pb2.JobState.Name(value).removeprefix("JOB_STATE_").lower())

    def to_proto(self) -> job_pb2.JobState:
        return cast(job_pb2.JobState, job_pb2.JobState.Value(f"JOB_STATE_{self.value.upper()}"))


@strawberry.enum
class StepState(Enum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def from_proto(cls, value: int) -> StepState:
        return cls(job_pb2.StepState.Name(value).removeprefix("STEP_STATE_").lower())


@strawberry.type
class Error:
    code: str
    message: str

    @classmethod
    def from_proto(cls, error: job_pb2.Error) -> Error:
        return cls(code=error.code, message=error.message)


@strawberry.type
class Artifact:
    name: str
    media_type: str
    sha256: str
    size_bytes: int
    blob_key: strawberry.Private[str]

    @documented(strawberry.field, "Signed, expiring download URL.")
    def url(self, info: Info) -> str:
        return context_of(info).sign(self.blob_key)

    @classmethod
    def from_proto(cls, a: job_pb2.Artifact) -> Artifact:
        return cls(
            name=a.name,
            media_type=a.media_type,
            sha256=a.sha256,
            size_bytes=a.size_bytes,
            blob_key=a.blob_key,
        )


def _artifact(a: job_pb2.Artifact, present: bool) -> Artifact | None:
    return Artifact.from_proto(a) if present and a.blob_key else None


@strawberry.type
class QueueInfo:
    position: int
    eta_seconds: float


@strawberry.type
class Step:
    id: strawberry.ID
    name: str
    state: StepState
    depends_on: list[str]
    attempt: int
    max_attempts: int
    seed: int
    backend: str
    backend_version: str
    pool: str
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float
    cost_usd: float
    progress: float
    progress_message: str
    outputs: list[Artifact]
    preview: Artifact | None
    error: Error | None
    queue: QueueInfo | None
    review_gate: bool
    review_notes: str
    cache_hit: bool
    notes: list[str]

    @classmethod
    def from_proto(cls, s: job_pb2.Step) -> Step:
        return cls(
            id=strawberry.ID(s.id),
            name=s.name,
            state=StepState.from_proto(s.state),
            depends_on=list(s.depends_on),
            attempt=s.attempt,
            max_attempts=s.max_attempts,
            seed=s.seed,
            backend=s.backend,
            backend_version=s.backend_version,
            pool=s.pool,
            queued_at=_time(s.queued_at, s.HasField("queued_at")),
            started_at=_time(s.started_at, s.HasField("started_at")),
            finished_at=_time(s.finished_at, s.HasField("finished_at")),
            duration_seconds=s.duration_seconds,
            cost_usd=s.cost_usd,
            progress=s.progress,
            progress_message=s.progress_message,
            outputs=[Artifact.from_proto(a) for a in s.outputs],
            preview=_artifact(s.preview, s.HasField("preview")),
            error=Error.from_proto(s.error) if s.HasField("error") else None,
            queue=QueueInfo(position=s.queue.position, eta_seconds=s.queue.eta_seconds)
            if s.HasField("queue")
            else None,
            review_gate=s.review_gate,
            review_notes=s.review_notes,
            cache_hit=s.cache_hit,
            notes=list(s.notes),
        )


@strawberry.type
class Transition:
    step: str | None
    from_state: str
    to_state: str
    at: datetime


@strawberry.type
class Job:
    id: strawberry.ID
    pipeline: str
    state: JobState
    prompt: str
    seed: int
    steps: list[Step]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    cost_usd: float
    eta_seconds: float
    error: Error | None
    warnings: list[str] = strawberry.field(
        description="What the result is not, though it succeeded: e.g. a generic stand-in for the subject."
    )
    asset_id: strawberry.ID | None
    asset_version: int | None
    transitions: list[Transition]
    input_json: JSON

    @classmethod
    def from_proto(cls, j: job_pb2.Job) -> Job:
        from google.protobuf.json_format import MessageToDict

        return cls(
            id=strawberry.ID(j.id),
            pipeline=j.pipeline,
            state=JobState.from_proto(j.state),
            prompt=j.input.prompt.concept,
            seed=j.input.seed,
            steps=[Step.from_proto(s) for s in j.steps],
            created_at=j.created_at.ToDatetime(tzinfo=UTC),
            updated_at=j.updated_at.ToDatetime(tzinfo=UTC),
            finished_at=_time(j.finished_at, j.HasField("finished_at")),
            cost_usd=j.cost_usd,
            eta_seconds=j.eta_seconds,
            error=Error.from_proto(j.error) if j.HasField("error") else None,
            warnings=job_warnings(j),
            asset_id=strawberry.ID(j.asset_id) if j.asset_version else None,
            asset_version=j.asset_version or None,
            transitions=[
                Transition(
                    step=t.step or None,
                    from_state=t.from_state,
                    to_state=t.to_state,
                    at=t.at.ToDatetime(tzinfo=UTC),
                )
                for t in j.transitions
            ],
            input_json=JSON(MessageToDict(j.input, preserving_proto_field_name=False)),
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class JobConnection:
    nodes: list[Job]
    page_info: PageInfo


@strawberry.type
class LineageEntry:
    artifact: Artifact
    step_name: str
    backend: str
    backend_version: str
    input_sha256: list[str]


@strawberry.type
class AssetVersion:
    version: int
    job_id: strawberry.ID
    created_at: datetime
    files: list[Artifact]
    lineage: list[LineageEntry]
    cost_usd: float

    @classmethod
    def from_proto(cls, v: library_pb2.AssetVersion) -> AssetVersion:
        return cls(
            version=v.version,
            job_id=strawberry.ID(v.job_id),
            created_at=v.created_at.ToDatetime(tzinfo=UTC),
            files=[Artifact.from_proto(a) for a in v.files],
            lineage=[
                LineageEntry(
                    artifact=Artifact.from_proto(e.artifact),
                    step_name=e.step_name,
                    backend=e.backend,
                    backend_version=e.backend_version,
                    input_sha256=list(e.input_sha256),
                )
                for e in v.lineage
            ],
            cost_usd=v.cost_usd,
        )


@strawberry.type
class Asset:
    id: strawberry.ID
    name: str
    asset_type: str
    rig_type: str
    prompt: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    latest_version: int
    versions: list[AssetVersion]

    @classmethod
    def from_proto(cls, a: library_pb2.Asset) -> Asset:
        return cls(
            id=strawberry.ID(a.id),
            name=a.name,
            asset_type=job_pb2.AssetType.Name(a.asset_type).removeprefix("ASSET_TYPE_").lower(),
            rig_type=job_pb2.RigType.Name(a.rig_type).removeprefix("RIG_TYPE_").lower(),
            prompt=a.prompt,
            tags=list(a.tags),
            created_at=a.created_at.ToDatetime(tzinfo=UTC),
            updated_at=a.updated_at.ToDatetime(tzinfo=UTC),
            latest_version=a.latest_version,
            versions=[AssetVersion.from_proto(v) for v in a.versions],
        )


@strawberry.type
class AssetConnection:
    nodes: list[Asset]
    page_info: PageInfo


@strawberry.type
class PipelineStep:
    name: str
    description: str
    depends_on: list[str]
    max_attempts: int
    backend: str = strawberry.field(description="The deployment's backend for the step.")
    options_schema: JSON = strawberry.field(
        description="JSON Schema of `stepOptions.<step>` with that backend: the options a job may set."
    )
    consumes: list[str]
    produces: list[str]

    @classmethod
    def from_proto(cls, s: library_pb2.PipelineStep) -> PipelineStep:
        return cls(
            name=s.name,
            description=s.description,
            depends_on=list(s.depends_on),
            max_attempts=s.max_attempts,
            backend=s.backend,
            options_schema=json.loads(s.options_schema or "{}"),
            consumes=list(s.consumes),
            produces=list(s.produces),
        )


@strawberry.type
class Pipeline:
    name: str
    description: str
    steps: list[PipelineStep]


@strawberry.type
class Me:
    tenant_id: str
    project_id: str
    role: str
    member_id: str
    user_id: str
    tenant_admin: bool

    @classmethod
    def from_proto(cls, p: orchestrator_pb2.Principal) -> Me:
        return cls(
            tenant_id=p.tenant_id,
            project_id=p.project_id,
            role=p.role,
            member_id=p.member_id,
            user_id=p.user_id,
            tenant_admin=p.tenant_admin,
        )


@strawberry.type
class CreateAssetJobPayload:
    job: Job
    created: bool


@strawberry.type(description="What a deletion removed. Deleting again reads as NOT_FOUND.")
class DeleteAssetPayload:
    asset_id: strawberry.ID
    versions: list[int] = strawberry.field(description="The versions deleted.")
    asset_deleted: bool = strawberry.field(
        description="The whole asset is gone (deleting its last version deletes it too)."
    )
    blobs_deleted: int = strawberry.field(
        description="Files removed; a blob another job of the tenant still uses stays."
    )

    @classmethod
    def from_proto(cls, msg: orchestrator_pb2.DeleteAssetResponse) -> DeleteAssetPayload:
        return cls(
            asset_id=strawberry.ID(msg.asset_id),
            versions=list(msg.versions),
            asset_deleted=msg.asset_deleted,
            blobs_deleted=msg.blobs_deleted,
        )


# --- subscription events -------------------------------------------------------------------


@strawberry.interface
class JobEvent:
    job_id: strawberry.ID
    sequence: int
    at: datetime
    step_name: str | None


@strawberry.type
class StepQueuedEvent(JobEvent):
    position: int
    eta_seconds: float


@strawberry.type
class StepStartedEvent(JobEvent):
    attempt: int


@strawberry.type
class StepProgressEvent(JobEvent):
    progress: float
    message: str


@strawberry.type
class StepPreviewEvent(JobEvent):
    preview: Artifact


@strawberry.type
class StepCompletedEvent(JobEvent):
    outputs: list[Artifact]
    duration_seconds: float
    cost_usd: float
    cache_hit: bool


@strawberry.type
class StepRetryingEvent(JobEvent):
    attempt: int
    delay_seconds: float
    error: Error


@strawberry.type
class ReviewNeededEvent(JobEvent):
    outputs: list[Artifact]


@strawberry.type
class JobFailedEvent(JobEvent):
    error: Error


@strawberry.type
class JobFinishedEvent(JobEvent):
    state: JobState
    asset_id: strawberry.ID | None
    asset_version: int | None
    files: list[Artifact]
    cost_usd: float


EVENT_TYPES = (
    StepQueuedEvent,
    StepStartedEvent,
    StepProgressEvent,
    StepPreviewEvent,
    StepCompletedEvent,
    StepRetryingEvent,
    ReviewNeededEvent,
    JobFailedEvent,
    JobFinishedEvent,
)


class _EventFields(TypedDict):
    job_id: strawberry.ID
    sequence: int
    at: datetime
    step_name: str | None


def event_from_proto(e: events_pb2.JobEvent) -> JobEvent:
    base: _EventFields = {
        "job_id": strawberry.ID(e.job_id),
        "sequence": e.sequence,
        "at": e.at.ToDatetime(tzinfo=UTC),
        "step_name": e.step_name or None,
    }
    kind = e.WhichOneof("kind")
    if kind == "queued":
        return StepQueuedEvent(**base, position=e.queued.position, eta_seconds=e.queued.eta_seconds)
    if kind == "started":
        return StepStartedEvent(**base, attempt=e.started.attempt)
    if kind == "progress":
        return StepProgressEvent(**base, progress=e.progress.fraction, message=e.progress.message)
    if kind == "preview":
        return StepPreviewEvent(**base, preview=Artifact.from_proto(e.preview.preview))
    if kind == "step_completed":
        done = e.step_completed
        return StepCompletedEvent(
            **base,
            outputs=[Artifact.from_proto(a) for a in done.outputs],
            duration_seconds=done.duration_seconds,
            cost_usd=done.cost_usd,
            cache_hit=done.cache_hit,
        )
    if kind == "retrying":
        retry = e.retrying
        return StepRetryingEvent(
            **base,
            attempt=retry.attempt,
            delay_seconds=retry.delay_seconds,
            error=Error.from_proto(retry.error),
        )
    if kind == "review_needed":
        return ReviewNeededEvent(**base, outputs=[Artifact.from_proto(a) for a in e.review_needed.outputs])
    if kind == "failed":
        return JobFailedEvent(**base, error=Error.from_proto(e.failed.error))
    finished = e.finished
    return JobFinishedEvent(
        **base,
        state=JobState.from_proto(finished.state),
        asset_id=strawberry.ID(finished.asset_id) if finished.asset_version else None,
        asset_version=finished.asset_version or None,
        files=[Artifact.from_proto(a) for a in finished.artifacts],
        cost_usd=finished.cost_usd,
    )
