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
from assetcore.worker.backend import ErrorCode, StepError

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
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"retopo.{unknown[0]}: unknown option (known: {', '.join(KNOWN)})"
        )
    if "face_target" in params:
        face_target = _face_count("retopo.face_target", params["face_target"])
    elif job.constraints.HasField("poly_budget"):
        face_target = _face_count("constraints.poly_budget", job.constraints.poly_budget)
    else:
        face_target = PLATFORM_FACES.get(
            job.constraints.platform, PLATFORM_FACES[job_pb2.PLATFORM_UNSPECIFIED]
        )
    symmetry = params.get("symmetry", "auto")
    if symmetry not in ("auto", "on", "off"):
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"retopo.symmetry: expected auto, on or off, got {symmetry!r}"
        )
    texture_size = _integer("retopo.texture_size", params.get("texture_size", DEFAULT_TEXTURE_SIZE))
    if texture_size not in TEXTURE_SIZES:
        raise StepError(
            ErrorCode.INVALID_PARAMS,
            f"retopo.texture_size: {texture_size} is not one of {', '.join(map(str, TEXTURE_SIZES))}",
        )
    return RetopoOptions(
        face_target=face_target, symmetry=cast(Symmetry, symmetry), texture_size=texture_size
    )


def _face_count(field: str, value: object) -> int:
    count = _integer(field, value)
    if not MIN_FACES <= count <= MAX_FACES:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"{field}: {count} faces is outside {MIN_FACES}..{MAX_FACES}"
        )
    return count


def _integer(field: str, value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # protobuf Struct numbers arrive as floats
    if isinstance(value, bool) or not isinstance(value, int):
        raise StepError(ErrorCode.INVALID_PARAMS, f"{field}: expected an integer, got {value!r}")
    return value
