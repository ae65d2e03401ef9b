"""The refine step's advanced options (JobInput.step_options["refine"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.params import StepParams

_RANGES: dict[str, tuple[float, float]] = {
    "margin": (0.0, 0.3),
    "min_component": (0.0, 1.0),
    "max_hole": (0.0, 0.5),
    "sharpen": (0.0, 2.0),
}


@dataclass(frozen=True)
class RefineOptions:
    margin: float = 0.06  # empty border around the subject, a fraction of the side
    min_component: float = 0.02  # matte islands smaller than this share of the largest are specks
    max_hole: float = 0.01  # holes up to this share of the subject's area are filled
    sharpen: float = 0.5  # unsharp-mask strength after the x2 upscale (0: none)


def parse_options(params: Mapping[str, Any]) -> RefineOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    options = StepParams("refine", params, _RANGES)
    defaults = RefineOptions()
    return RefineOptions(
        **{
            name: options.number(name, getattr(defaults, name), low, high)
            for name, (low, high) in _RANGES.items()
        }
    )
