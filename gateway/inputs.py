"""GraphQL input types and their translation to the orchestrator's JobInput.

Open vocabularies (pipelines, export formats, engines, clip names, review gates) are
strings checked by the orchestrator, which knows them; closed ones are GraphQL enums.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from google.protobuf.struct_pb2 import Struct

from assetcore.errors import InvalidArgument
from assetcore.proto.v1 import job_pb2


@strawberry.enum
class AssetType(Enum):
    CHARACTER = job_pb2.ASSET_TYPE_CHARACTER
    PROP = job_pb2.ASSET_TYPE_PROP
    CONCEPT = job_pb2.ASSET_TYPE_CONCEPT


@strawberry.enum
class Platform(Enum):
    MOBILE = job_pb2.PLATFORM_MOBILE
    PC = job_pb2.PLATFORM_PC
    CONSOLE = job_pb2.PLATFORM_CONSOLE


@strawberry.enum
class RigType(Enum):
    HUMANOID = job_pb2.RIG_TYPE_HUMANOID
    QUADRUPED = job_pb2.RIG_TYPE_QUADRUPED
    STATIC = job_pb2.RIG_TYPE_STATIC


@strawberry.enum
class Priority(Enum):
    LOW = job_pb2.PRIORITY_LOW
    NORMAL = job_pb2.PRIORITY_NORMAL
    HIGH = job_pb2.PRIORITY_HIGH


@strawberry.enum
class ReviewDecision(Enum):
    APPROVE = "approve"
    REJECT = "reject"


@strawberry.input
class PromptInput:
    concept: str
    style: str = ""
    details: str = ""


@strawberry.input
class ConstraintsInput:
    poly_budget: int | None = None
    platform: Platform | None = None
    rig_type: RigType | None = None


@strawberry.input
class AnimationInput:
    clips: list[str] | None = None
    fps: int | None = None
    in_place: bool = False
    bvh: str | None = strawberry.field(default=None, description="BVH file contents (text).")


@strawberry.input
class ExportInput:
    formats: list[str] | None = None
    engine: str | None = None
    draco: bool = False
    ktx2: bool = strawberry.field(
        default=False, description="KTX2 (Basis Universal) copies of GLB textures; PNGs stay as fallback."
    )


@strawberry.input
class CreateAssetJobInput:
    prompt: PromptInput
    negative_prompt: str = ""
    asset_type: AssetType | None = None
    pipeline: str | None = None
    seed: int | None = None
    constraints: ConstraintsInput | None = None
    animation: AnimationInput | None = None
    export: ExportInput | None = None
    priority: Priority | None = None
    review_gates: list[str] | None = None
    upscale: bool = False
    name: str | None = None
    tags: list[str] | None = None
    asset_id: strawberry.ID | None = None
    step_options: strawberry.scalars.JSON | None = strawberry.field(
        default=None, description="Advanced: per-step backend options, keyed by step name."
    )


@strawberry.input
class JobFilter:
    states: list[str] | None = None  # job state names: queued, running, ...
    pipeline: str | None = None
    created_after: str | None = None  # ISO 8601
    created_before: str | None = None


def to_job_input(data: CreateAssetJobInput) -> job_pb2.JobInput:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(
            concept=data.prompt.concept, style=data.prompt.style, details=data.prompt.details
        ),
        negative_prompt=data.negative_prompt,
        pipeline=data.pipeline or "",
        upscale=data.upscale,
        name=data.name or "",
        tags=data.tags or [],
        review_gates=data.review_gates or [],
        asset_id=data.asset_id or "",
    )
    if data.asset_type is not None:
        job.asset_type = data.asset_type.value
    if data.priority is not None:
        job.priority = data.priority.value
    if data.seed is not None:
        job.seed = data.seed
    if (c := data.constraints) is not None:
        if c.poly_budget is not None:
            if c.poly_budget < 0:
                raise InvalidArgument("must be positive", field="input.constraints.poly_budget")
            job.constraints.poly_budget = c.poly_budget
        if c.platform is not None:
            job.constraints.platform = c.platform.value
        if c.rig_type is not None:
            job.constraints.rig_type = c.rig_type.value
    if (a := data.animation) is not None:
        job.animation.clips.extend(a.clips or [])
        if a.fps is not None:
            if a.fps < 0:
                raise InvalidArgument("must be positive", field="input.animation.fps")
            job.animation.fps = a.fps
        job.animation.in_place = a.in_place
        if a.bvh:
            job.animation.bvh = a.bvh.encode()
    if (e := data.export) is not None:
        job.export.formats.extend(e.formats or [])
        job.export.engine = e.engine or ""
        job.export.draco = e.draco
        job.export.ktx2 = e.ktx2
    if data.step_options is not None:
        if not isinstance(data.step_options, dict) or not all(
            isinstance(v, dict) for v in data.step_options.values()
        ):
            raise InvalidArgument(
                "must be an object of objects keyed by step name", field="input.step_options"
            )
        for step, options in data.step_options.items():
            struct = Struct()
            struct.update(options)
            job.step_options[step].CopyFrom(struct)
    return job
