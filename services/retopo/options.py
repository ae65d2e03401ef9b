"""What the retopo step is asked for: the face target and the advanced options.

Face target: step_options["retopo"]["face_target"] if given, else the job's
constraints.poly_budget if set, else the platform's default (mobile 5k, pc 15k, console 30k;
unspecified = pc). Out-of-range values fail with INVALID_PARAMS naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from assetcore.proto.v1 import job_pb2
from assetcore.worker.params import StepParams, checked_integer

Symmetry = Literal["auto", "on", "off"]

MIN_FACES, MAX_FACES = 100, 1_000_000
PLATFORM_FACES = {
    job_pb2.PLATFORM_MOBILE: 5_000,
    job_pb2.PLATFORM_PC: 15_000,
    job_pb2.PLATFORM_CONSOLE: 30_000,
    job_pb2.PLATFORM_UNSPECIFIED: 15_000,
}
TEXTURE_SIZES = (256, 512, 1024, 2048, 4096)
DEFAULT_TEXTURE_SIZE = 1024
KNOWN = ("face_target", "symmetry", "texture_size")


@dataclass(frozen=True)
class RetopoOptions:
    face_target: int  # faces of LOD0: triangles, or quads + triangles for quad remeshers
    symmetry: Symmetry = "auto"  # auto: mirror the x >= 0 half when the input is near-symmetric
    texture_size: int = DEFAULT_TEXTURE_SIZE  # LOD0's base-colour texture; each LOD halves it


def resolve_options(job: job_pb2.JobInput, params: Mapping[str, Any]) -> RetopoOptions:
    options = StepParams("retopo", params, KNOWN)
    if "face_target" in options:
        face_target = options.integer("face_target", 0, MIN_FACES, MAX_FACES)
    elif job.constraints.HasField("poly_budget"):
        face_target = checked_integer(
            "constraints.poly_budget", job.constraints.poly_budget, MIN_FACES, MAX_FACES
        )
    else:
        face_target = PLATFORM_FACES.get(
            job.constraints.platform, PLATFORM_FACES[job_pb2.PLATFORM_UNSPECIFIED]
        )
    symmetry = options.choice("symmetry", "auto", ("auto", "on", "off"))
    texture_size = options.integer("texture_size", DEFAULT_TEXTURE_SIZE, TEXTURE_SIZES[0], TEXTURE_SIZES[-1])
    if texture_size not in TEXTURE_SIZES:
        raise options.error(
            "texture_size", f"{texture_size} is not one of {', '.join(map(str, TEXTURE_SIZES))}"
        )
    return RetopoOptions(
        face_target=face_target, symmetry=cast(Symmetry, symmetry), texture_size=texture_size
    )
