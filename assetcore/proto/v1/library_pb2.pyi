import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from assetcore.proto.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LineageEntry(_message.Message):
    __slots__ = ("artifact", "step_id", "step_name", "backend", "backend_version", "input_sha256")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    artifact: _job_pb2.Artifact
    step_id: str
    step_name: str
    backend: str
    backend_version: str
    input_sha256: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, artifact: _Optional[_Union[_job_pb2.Artifact, _Mapping]] = ..., step_id: _Optional[str] = ..., step_name: _Optional[str] = ..., backend: _Optional[str] = ..., backend_version: _Optional[str] = ..., input_sha256: _Optional[_Iterable[str]] = ...) -> None: ...

class AssetVersion(_message.Message):
    __slots__ = ("version", "job_id", "created_at", "files", "lineage", "cost_usd")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    version: int
    job_id: str
    created_at: _timestamp_pb2.Timestamp
    files: _containers.RepeatedCompositeFieldContainer[_job_pb2.Artifact]
    lineage: _containers.RepeatedCompositeFieldContainer[LineageEntry]
    cost_usd: float
    def __init__(self, version: _Optional[int] = ..., job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., files: _Optional[_Iterable[_Union[_job_pb2.Artifact, _Mapping]]] = ..., lineage: _Optional[_Iterable[_Union[LineageEntry, _Mapping]]] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class Asset(_message.Message):
    __slots__ = ("id", "tenant_id", "project_id", "name", "asset_type", "rig_type", "prompt", "tags", "created_at", "updated_at", "latest_version", "versions")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ASSET_TYPE_FIELD_NUMBER: _ClassVar[int]
    RIG_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    project_id: str
    name: str
    asset_type: _job_pb2.AssetType
    rig_type: _job_pb2.RigType
    prompt: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    latest_version: int
    versions: _containers.RepeatedCompositeFieldContainer[AssetVersion]
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., project_id: _Optional[str] = ..., name: _Optional[str] = ..., asset_type: _Optional[_Union[_job_pb2.AssetType, str]] = ..., rig_type: _Optional[_Union[_job_pb2.RigType, str]] = ..., prompt: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_version: _Optional[int] = ..., versions: _Optional[_Iterable[_Union[AssetVersion, _Mapping]]] = ...) -> None: ...

class PipelineStep(_message.Message):
    __slots__ = ("name", "depends_on", "max_attempts", "description", "backend", "options_schema", "consumes", "produces")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    CONSUMES_FIELD_NUMBER: _ClassVar[int]
    PRODUCES_FIELD_NUMBER: _ClassVar[int]
    name: str
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    max_attempts: int
    description: str
    backend: str
    options_schema: str
    consumes: _containers.RepeatedScalarFieldContainer[str]
    produces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., depends_on: _Optional[_Iterable[str]] = ..., max_attempts: _Optional[int] = ..., description: _Optional[str] = ..., backend: _Optional[str] = ..., options_schema: _Optional[str] = ..., consumes: _Optional[_Iterable[str]] = ..., produces: _Optional[_Iterable[str]] = ...) -> None: ...

class Pipeline(_message.Message):
    __slots__ = ("name", "description", "steps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    steps: _containers.RepeatedCompositeFieldContainer[PipelineStep]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[PipelineStep, _Mapping]]] = ...) -> None: ...
