import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from assetcore.proto.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepQueued(_message.Message):
    __slots__ = ("position", "eta_seconds")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    position: int
    eta_seconds: float
    def __init__(self, position: _Optional[int] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class StepStarted(_message.Message):
    __slots__ = ("attempt", "backend", "worker_id")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    backend: str
    worker_id: str
    def __init__(self, attempt: _Optional[int] = ..., backend: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...

class StepProgress(_message.Message):
    __slots__ = ("fraction", "message")
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    fraction: float
    message: str
    def __init__(self, fraction: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class StepPreview(_message.Message):
    __slots__ = ("preview",)
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    preview: _job_pb2.Artifact
    def __init__(self, preview: _Optional[_Union[_job_pb2.Artifact, _Mapping]] = ...) -> None: ...

class StepCompleted(_message.Message):
    __slots__ = ("outputs", "duration_seconds", "cost_usd", "cache_hit")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    duration_seconds: float
    cost_usd: float
    cache_hit: bool
    def __init__(self, outputs: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ..., duration_seconds: _Optional[float] = ..., cost_usd: _Optional[float] = ..., cache_hit: _Optional[bool] = ...) -> None: ...

class StepRetrying(_message.Message):
    __slots__ = ("attempt", "delay_seconds", "error")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    delay_seconds: float
    error: _job_pb2.Error
    def __init__(self, attempt: _Optional[int] = ..., delay_seconds: _Optional[float] = ..., error: _Optional[_Union[_job_pb2.Error, _Mapping]] = ...) -> None: ...

class ReviewNeeded(_message.Message):
    __slots__ = ("outputs",)
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    def __init__(self, outputs: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ...) -> None: ...

class JobFailed(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: _job_pb2.Error
    def __init__(self, error: _Optional[_Union[_job_pb2.Error, _Mapping]] = ...) -> None: ...

class JobFinished(_message.Message):
    __slots__ = ("state", "asset_id", "asset_version", "artifacts", "cost_usd")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    state: _job_pb2.JobState
    asset_id: str
    asset_version: int
    artifacts: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    cost_usd: float
    def __init__(self, state: _Optional[_Union[_job_pb2.JobState, str]] = ..., asset_id: _Optional[str] = ..., asset_version: _Optional[int] = ..., artifacts: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "at", "step_id", "step_name", "tenant_id", "queued", "started", "progress", "preview", "step_completed", "retrying", "review_needed", "failed", "finished")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    STEP_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RETRYING_FIELD_NUMBER: _ClassVar[int]
    REVIEW_NEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    at: _timestamp_pb2.Timestamp
    step_id: str
    step_name: str
    tenant_id: str
    queued: StepQueued
    started: StepStarted
    progress: StepProgress
    preview: StepPreview
    step_completed: StepCompleted
    retrying: StepRetrying
    review_needed: ReviewNeeded
    failed: JobFailed
    finished: JobFinished
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step_id: _Optional[str] = ..., step_name: _Optional[str] = ..., tenant_id: _Optional[str] = ..., queued: _Optional[_Union[StepQueued, _Mapping]] = ..., started: _Optional[_Union[StepStarted, _Mapping]] = ..., progress: _Optional[_Union[StepProgress, _Mapping]] = ..., preview: _Optional[_Union[StepPreview, _Mapping]] = ..., step_completed: _Optional[_Union[StepCompleted, _Mapping]] = ..., retrying: _Optional[_Union[StepRetrying, _Mapping]] = ..., review_needed: _Optional[_Union[ReviewNeeded, _Mapping]] = ..., failed: _Optional[_Union[JobFailed, _Mapping]] = ..., finished: _Optional[_Union[JobFinished, _Mapping]] = ...) -> None: ...
