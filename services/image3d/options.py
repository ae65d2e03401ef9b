"""The image3d step's advanced options (JobInput.step_options["image3d"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.params import StepParams

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
    options = StepParams("image3d", params, KNOWN)
    return Image3dOptions(
        resolution=options.integer("resolution", DEFAULT_RESOLUTION, MIN_RESOLUTION, MAX_RESOLUTION),
        depth_scale=options.number("depth_scale", None, MIN_DEPTH_SCALE, MAX_DEPTH_SCALE),
    )
