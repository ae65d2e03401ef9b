"""The rig step's advanced options (JobInput.step_options["rig"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.backend import ErrorCode, StepError

DEFAULT_RESOLUTION = 128  # voxels along the mesh's longest side for the skeleton fit
MIN_RESOLUTION, MAX_RESOLUTION = 64, 256
KNOWN = ("resolution",)


@dataclass(frozen=True)
class RigOptions:
    resolution: int = DEFAULT_RESOLUTION


def parse_options(params: Mapping[str, Any]) -> RigOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"rig.{unknown[0]}: unknown option (known: {', '.join(KNOWN)})"
        )
    resolution = params.get("resolution", DEFAULT_RESOLUTION)
    if isinstance(resolution, float) and resolution.is_integer():
        resolution = int(resolution)  # protobuf Struct numbers arrive as floats
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise StepError(ErrorCode.INVALID_PARAMS, f"rig.resolution: expected an integer, got {resolution!r}")
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise StepError(
            ErrorCode.INVALID_PARAMS,
            f"rig.resolution: {resolution} is outside {MIN_RESOLUTION}..{MAX_RESOLUTION}",
        )
    return RigOptions(resolution=resolution)
