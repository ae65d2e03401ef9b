import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssetType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSET_TYPE_UNSPECIFIED: _ClassVar[AssetType]
    ASSET_TYPE_CHARACTER: _ClassVar[AssetType]
    ASSET_TYPE_PROP: _ClassVar[AssetType]
    ASSET_TYPE_CONCEPT: _ClassVar[AssetType]

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_MOBILE: _ClassVar[Platform]
    PLATFORM_PC: _ClassVar[Platform]
    PLATFORM_CONSOLE: _ClassVar[Platform]

class RigType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RIG_TYPE_UNSPECIFIED: _ClassVar[RigType]
    RIG_TYPE_HUMANOID: _ClassVar[RigType]
    RIG_TYPE_QUADRUPED: _ClassVar[RigType]
    RIG_TYPE_STATIC: _ClassVar[RigType]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_AWAITING_REVIEW: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_PENDING: _ClassVar[StepState]
    STEP_STATE_QUEUED: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_AWAITING_REVIEW: _ClassVar[StepState]
    STEP_STATE_SUCCEEDED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_CANCELLED: _ClassVar[StepState]
ASSET_TYPE_UNSPECIFIED: AssetType
ASSET_TYPE_CHARACTER: AssetType
ASSET_TYPE_PROP: AssetType
ASSET_TYPE_CONCEPT: AssetType
PLATFORM_UNSPECIFIED: Platform
PLATFORM_MOBILE: Platform
PLATFORM_PC: Platform
PLATFORM_CONSOLE: Platform
RIG_TYPE_UNSPECIFIED: RigType
RIG_TYPE_HUMANOID: RigType
RIG_TYPE_QUADRUPED: RigType
RIG_TYPE_STATIC: RigType
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_AWAITING_REVIEW: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_PENDING: StepState
STEP_STATE_QUEUED: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_AWAITING_REVIEW: StepState
STEP_STATE_SUCCEEDED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_CANCELLED: StepState

class Prompt(_message.Message):
    __slots__ = ("concept", "style", "details")
    CONCEPT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    concept: str
    style: str
    details: str
    def __init__(self, concept: _Optional[str] = ..., style: _Optional[str] = ..., details: _Optional[str] = ...) -> None: ...

class Constraints(_message.Message):
    __slots__ = ("poly_budget", "platform", "rig_type")
    POLY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    RIG_TYPE_FIELD_NUMBER: _ClassVar[int]
    poly_budget: int
    platform: Platform
    rig_type: RigType
    def __init__(self, poly_budget: _Optional[int] = ..., platform: _Optional[_Union[Platform, str]] = ..., rig_type: _Optional[_Union[RigType, str]] = ...) -> None: ...

class AnimationOptions(_message.Message):
    __slots__ = ("clips", "fps", "in_place", "bvh")
    CLIPS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    IN_PLACE_FIELD_NUMBER: _ClassVar[int]
    BVH_FIELD_NUMBER: _ClassVar[int]
    clips: _containers.RepeatedScalarFieldContainer[str]
    fps: int
    in_place: bool
    bvh: bytes
    def __init__(self, clips: _Optional[_Iterable[str]] = ..., fps: _Optional[int] = ..., in_place: _Optional[bool] = ..., bvh: _Optional[bytes] = ...) -> None: ...

class ExportOptions(_message.Message):
    __slots__ = ("formats", "engine", "draco", "ktx2")
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    DRACO_FIELD_NUMBER: _ClassVar[int]
    KTX2_FIELD_NUMBER: _ClassVar[int]
    formats: _containers.RepeatedScalarFieldContainer[str]
    engine: str
    draco: bool
    ktx2: bool
    def __init__(self, formats: _Optional[_Iterable[str]] = ..., engine: _Optional[str] = ..., draco: _Optional[bool] = ..., ktx2: _Optional[bool] = ...) -> None: ...

class JobInput(_message.Message):
    __slots__ = ("asset_type", "pipeline", "prompt", "negative_prompt", "seed", "constraints", "animation", "export", "priority", "review_gates", "upscale", "name", "tags", "step_options", "asset_id")
    class StepOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Struct
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
    ASSET_TYPE_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_FIELD_NUMBER: _ClassVar[int]
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REVIEW_GATES_FIELD_NUMBER: _ClassVar[int]
    UPSCALE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    STEP_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    asset_type: AssetType
    pipeline: str
    prompt: Prompt
    negative_prompt: str
    seed: int
    constraints: Constraints
    animation: AnimationOptions
    export: ExportOptions
    priority: Priority
    review_gates: _containers.RepeatedScalarFieldContainer[str]
    upscale: bool
    name: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    step_options: _containers.MessageMap[str, _struct_pb2.Struct]
    asset_id: str
    def __init__(self, asset_type: _Optional[_Union[AssetType, str]] = ..., pipeline: _Optional[str] = ..., prompt: _Optional[_Union[Prompt, _Mapping]] = ..., negative_prompt: _Optional[str] = ..., seed: _Optional[int] = ..., constraints: _Optional[_Union[Constraints, _Mapping]] = ..., animation: _Optional[_Union[AnimationOptions, _Mapping]] = ..., export: _Optional[_Union[ExportOptions, _Mapping]] = ..., priority: _Optional[_Union[Priority, str]] = ..., review_gates: _Optional[_Iterable[str]] = ..., upscale: _Optional[bool] = ..., name: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., step_options: _Optional[_Mapping[str, _struct_pb2.Struct]] = ..., asset_id: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "field")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    field: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "media_type", "sha256", "size_bytes", "blob_key", "preview_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOB_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    media_type: str
    sha256: str
    size_bytes: int
    blob_key: str
    preview_key: str
    def __init__(self, name: _Optional[str] = ..., media_type: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., blob_key: _Optional[str] = ..., preview_key: _Optional[str] = ...) -> None: ...

class QueueInfo(_message.Message):
    __slots__ = ("position", "eta_seconds")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    position: int
    eta_seconds: float
    def __init__(self, position: _Optional[int] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("id", "job_id", "name", "state", "depends_on", "attempt", "max_attempts", "generation", "seed", "backend", "backend_version", "pool", "queued_at", "started_at", "finished_at", "duration_seconds", "cost_usd", "progress", "progress_message", "outputs", "preview", "error", "queue", "review_gate", "review_notes", "cache_hit", "notes")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_GATE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_NOTES_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    name: str
    state: StepState
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    attempt: int
    max_attempts: int
    generation: int
    seed: int
    backend: str
    backend_version: str
    pool: str
    queued_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    duration_seconds: float
    cost_usd: float
    progress: float
    progress_message: str
    outputs: _containers.RepeatedCompositeFieldContainer[Artifact]
    preview: Artifact
    error: Error
    queue: QueueInfo
    review_gate: bool
    review_notes: str
    cache_hit: bool
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[StepState, str]] = ..., depends_on: _Optional[_Iterable[str]] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ..., generation: _Optional[int] = ..., seed: _Optional[int] = ..., backend: _Optional[str] = ..., backend_version: _Optional[str] = ..., pool: _Optional[str] = ..., queued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_seconds: _Optional[float] = ..., cost_usd: _Optional[float] = ..., progress: _Optional[float] = ..., progress_message: _Optional[str] = ..., outputs: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., preview: _Optional[_Union[Artifact, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., queue: _Optional[_Union[QueueInfo, _Mapping]] = ..., review_gate: _Optional[bool] = ..., review_notes: _Optional[str] = ..., cache_hit: _Optional[bool] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class Transition(_message.Message):
    __slots__ = ("step", "from_state", "to_state", "at")
    STEP_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    step: str
    from_state: str
    to_state: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[str] = ..., from_state: _Optional[str] = ..., to_state: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "tenant_id", "project_id", "pipeline", "state", "input", "steps", "created_at", "updated_at", "finished_at", "cost_usd", "error", "asset_id", "asset_version", "eta_seconds", "transitions", "idempotency_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_VERSION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    project_id: str
    pipeline: str
    state: JobState
    input: JobInput
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    cost_usd: float
    error: Error
    asset_id: str
    asset_version: int
    eta_seconds: float
    transitions: _containers.RepeatedCompositeFieldContainer[Transition]
    idempotency_key: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., project_id: _Optional[str] = ..., pipeline: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., input: _Optional[_Union[JobInput, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cost_usd: _Optional[float] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., asset_id: _Optional[str] = ..., asset_version: _Optional[int] = ..., eta_seconds: _Optional[float] = ..., transitions: _Optional[_Iterable[_Union[Transition, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...
