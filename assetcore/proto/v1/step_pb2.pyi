import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from assetcore.proto.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepTask(_message.Message):
    __slots__ = ("job_id", "step_id", "step_name", "generation", "tenant_id", "project_id", "job_input", "params", "seed", "inputs", "priority", "enqueued_at", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_INPUT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step_id: str
    step_name: str
    generation: int
    tenant_id: str
    project_id: str
    job_input: _job_pb2.JobInput
    params: _struct_pb2.Struct
    seed: int
    inputs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    priority: _job_pb2.Priority
    enqueued_at: _timestamp_pb2.Timestamp
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, job_id: _Optional[str] = ..., step_id: _Optional[str] = ..., step_name: _Optional[str] = ..., generation: _Optional[int] = ..., tenant_id: _Optional[str] = ..., project_id: _Optional[str] = ..., job_input: _Optional[_Union[_job_pb2.JobInput, _Mapping]] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., inputs: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ..., priority: _Optional[_Union[_job_pb2.Priority, str]] = ..., enqueued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: StepTask
    def __init__(self, task: _Optional[_Union[StepTask, _Mapping]] = ...) -> None: ...

class StepResult(_message.Message):
    __slots__ = ("outputs", "preview", "backend", "backend_version", "cache_hit", "duration_seconds", "notes", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    preview: _job_pb2.Artifact
    backend: str
    backend_version: str
    cache_hit: bool
    duration_seconds: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, outputs: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ..., preview: _Optional[_Union[_job_pb2.Artifact, _Mapping]] = ..., backend: _Optional[str] = ..., backend_version: _Optional[str] = ..., cache_hit: _Optional[bool] = ..., duration_seconds: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class RunUpdate(_message.Message):
    __slots__ = ("progress", "result", "error", "message")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    progress: float
    result: StepResult
    error: _job_pb2.Error
    message: str
    def __init__(self, progress: _Optional[float] = ..., result: _Optional[_Union[StepResult, _Mapping]] = ..., error: _Optional[_Union[_job_pb2.Error, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("step", "backend", "backend_version", "capabilities", "available_backends", "ready")
    STEP_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_BACKENDS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    step: str
    backend: str
    backend_version: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    available_backends: _containers.RepeatedScalarFieldContainer[str]
    ready: bool
    def __init__(self, step: _Optional[str] = ..., backend: _Optional[str] = ..., backend_version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., available_backends: _Optional[_Iterable[str]] = ..., ready: _Optional[bool] = ...) -> None: ...
