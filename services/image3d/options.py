"""The image3d step's advanced options (JobInput.step_options["image3d"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.backend import ErrorCode, StepError

DEFAULT_RESOLUTION = 192  # voxels along the longest side: 60k-300k triangles, 0.5-2 s a step on 2 cores
MIN_RESOLUTION, MAX_RESOLUTION = 64, 384
MIN_DEPTH_SCALE, MAX_DEPTH_SCALE = 0.2, 3.0
KNOWN = ("resolution", "depth_scale")


@dataclass(frozen=True)
class Image3dOptions:
    resolution: int = DEFAULT_RESOLUTION
    depth_scale: float | None = None  # None: the category's default


def parse_options(params: Mapping[str, Any]) -> Image3dOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"image3d.{unknown[0]}: unknown option (known: {', '.join(KNOWN)})"
        )
    resolution = params.get("resolution", DEFAULT_RESOLUTION)
    if isinstance(resolution, float) and resolution.is_integer():
        resolution = int(resolution)  # protobuf Struct numbers arrive as floats
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"image3d.resolution: expected an integer, got {resolution!r}"
        )
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise StepError(
            ErrorCode.INVALID_PARAMS,
            f"image3d.resolution: {resolution} is outside {MIN_RESOLUTION}..{MAX_RESOLUTION}",
        )
    depth_scale = params.get("depth_scale")
    if depth_scale is not None:
        if isinstance(depth_scale, bool) or not isinstance(depth_scale, int | float):
            raise StepError(
                ErrorCode.INVALID_PARAMS, f"image3d.depth_scale: expected a number, got {depth_scale!r}"
            )
        if not MIN_DEPTH_SCALE <= depth_scale <= MAX_DEPTH_SCALE:
            raise StepError(
                ErrorCode.INVALID_PARAMS,
                f"image3d.depth_scale: {depth_scale} is outside {MIN_DEPTH_SCALE}..{MAX_DEPTH_SCALE}",
            )
        depth_scale = float(depth_scale)
    return Image3dOptions(resolution=resolution, depth_scale=depth_scale)
