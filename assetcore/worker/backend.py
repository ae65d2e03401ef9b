"""The step-backend protocol every step service is composed from.

A step service is a `StepDefinition`: its name, the artifact names it consumes, a registry
of backends and one step function. The worker runtime (consumer, leases, cache, gRPC) is
shared; a backend only turns input files into output files.

Backends are synchronous and run in a worker thread: `run` must call `progress` now and
then, which heartbeats the step and raises `StepCancelled` once the job no longer wants the
result. A bad input is a `StepError` with a stable code, never an unhandled exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from assetcore.config import MlSettings
from assetcore.models.store import ModelStore
from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import NoOptions, StepOptions

OptionsT = TypeVar("OptionsT", bound=StepOptions)


class StepError(Exception):
    """A step failure with a stable, documented code (see `ErrorCode`)."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class StepCancelled(Exception):
    """Raised by the progress callback when the job was cancelled or the worker drains."""


class ErrorCode:
    """Error codes steps report. Retryable failures are the runtime's to decide, not these."""

    INVALID_INPUT = "INVALID_INPUT"  # an input file is missing or unusable
    INVALID_IMAGE = "INVALID_IMAGE"  # bytes that are not a decodable image
    EMPTY_MATTE = "EMPTY_MATTE"  # the image has no subject in its alpha matte
    EMPTY_MESH = "EMPTY_MESH"  # a mesh with no faces
    NON_MANIFOLD = "NON_MANIFOLD"  # a mesh that cannot be repaired into a closed surface
    CORRUPT_BVH = "CORRUPT_BVH"
    INVALID_PARAMS = "INVALID_PARAMS"  # a step option or constraint out of range
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"  # e.g. the blender backend without bpy
    INTERNAL = "INTERNAL"  # an unexpected exception inside a backend (a bug)
    TIMEOUT = "TIMEOUT"
    SAFETY_REJECTED = "SAFETY_REJECTED"  # the image check flagged an output (never retried)


@dataclass(frozen=True)
class BackendInfo:
    name: str
    version: str  # bump whenever the backend's output for the same input can change
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputFile:
    name: str
    media_type: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class OutputFile:
    name: str  # unique within the step's outputs: "image", "mesh", "lod1", "glb", ...
    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class StepRequest:
    step: str
    job: job_pb2.JobInput
    params: Mapping[str, Any]  # JobInput.step_options[step] as plain Python values
    seed: int
    inputs: Mapping[str, InputFile]  # the consumed inputs that exist, by artifact name
    options: StepOptions = field(default_factory=NoOptions)  # `params` parsed by the step's model
    produces: tuple[str, ...] = ()  # the artifact names the step declares

    def options_as(self, model: type[OptionsT]) -> OptionsT:
        """The parsed options as the step's model (a backend's own options extend it)."""
        if not isinstance(self.options, model):
            raise TypeError(
                f"step {self.step}: options are {type(self.options).__name__}, not {model.__name__}"
            )
        return self.options


@dataclass
class StepOutput:
    files: list[OutputFile]
    preview_png: bytes | None = None  # small PNG the job events link to
    notes: list[str] = field(default_factory=list)  # human-readable remarks ("unknown word 'x'")
    metrics: dict[str, float] = field(default_factory=dict)  # faces, vertices, bones, ...


@dataclass(frozen=True)
class BackendContext:
    """What a backend that loads models is built with (BackendSpec.models non-empty)."""

    store: ModelStore
    ml: MlSettings = field(default_factory=MlSettings)


class Progress(Protocol):
    def __call__(self, fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        """Report 0..1 progress. Raises StepCancelled when the step should stop."""


class StepBackend(Protocol):
    def describe(self) -> BackendInfo: ...

    def load(self) -> None:
        """Load models or check dependencies, once per process. Raise StepError (or, for a
        model that is missing or does not match its manifest, ModelError) to refuse."""

    def run(self, request: StepRequest, progress: Progress) -> StepOutput: ...
