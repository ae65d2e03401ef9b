"""What the retopo step is asked for: the face target and the advanced options.

Face target: step_options["retopo"]["face_target"] if given, else the job's
constraints.poly_budget if set, else the platform's default (mobile 5k, pc 15k, console 30k;
unspecified = pc).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, field_validator

from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import Integer, OptionError, StepOptions, whole_number

MIN_FACES, MAX_FACES = 100, 1_000_000
PLATFORM_FACES = {
    job_pb2.PLATFORM_MOBILE: 5_000,
    job_pb2.PLATFORM_PC: 15_000,
    job_pb2.PLATFORM_CONSOLE: 30_000,
    job_pb2.PLATFORM_UNSPECIFIED: 15_000,
}
TEXTURE_SIZES = (256, 512, 1024, 2048, 4096)
LOD_LEVELS = (("mesh", 1.0), ("lod1", 0.5), ("lod2", 0.25))  # output name, share of the face target
Symmetry = Literal["auto", "on", "off"]
FaceTarget = Annotated[int, Field(ge=MIN_FACES, le=MAX_FACES), BeforeValidator(whole_number)]


class RetopoOptions(StepOptions):
    face_target: FaceTarget | None = Field(
        None,
        description="Faces of LOD0 (triangles, or quads + triangles for quad remeshers); "
        "default: the job's poly budget, else the platform's.",
    )
    symmetry: Symmetry = Field(
        "auto", description="auto: mirror the x >= 0 half when the input is near-symmetric."
    )
    texture_size: Integer = Field(
        1024,
        description="LOD0's base-colour texture side; each LOD halves it.",
        json_schema_extra={"enum": list(TEXTURE_SIZES)},
    )

    @field_validator("texture_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value not in TEXTURE_SIZES:
            raise ValueError(f"{value} is not one of {', '.join(map(str, TEXTURE_SIZES))}")
        return value

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        options = super().resolve(job, params)
        if options.face_target is not None:
            return options
        if job.constraints.HasField("poly_budget"):
            budget = job.constraints.poly_budget
            if not MIN_FACES <= budget <= MAX_FACES:
                raise OptionError(
                    "input.constraints.poly_budget", f"{budget} is outside {MIN_FACES}..{MAX_FACES}"
                )
        else:
            budget = PLATFORM_FACES.get(
                job.constraints.platform, PLATFORM_FACES[job_pb2.PLATFORM_UNSPECIFIED]
            )
        return options.model_copy(update={"face_target": budget})

    @property
    def faces(self) -> int:
        """LOD0's face target, resolved."""
        if self.face_target is None:
            raise ValueError("retopo options were not resolved against a job")
        return int(self.face_target)
