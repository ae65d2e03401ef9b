"""The rig step's advanced options (JobInput.step_options["rig"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.params import StepParams

DEFAULT_RESOLUTION = 128  # voxels along the mesh's longest side for the skeleton fit
MIN_RESOLUTION, MAX_RESOLUTION = 64, 256
KNOWN = ("resolution",)


@dataclass(frozen=True)
class RigOptions:
    resolution: int = DEFAULT_RESOLUTION


def parse_options(params: Mapping[str, Any]) -> RigOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    options = StepParams("rig", params, KNOWN)
    return RigOptions(
        resolution=options.integer("resolution", DEFAULT_RESOLUTION, MIN_RESOLUTION, MAX_RESOLUTION)
    )
