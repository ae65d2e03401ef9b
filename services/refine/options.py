"""The refine step's advanced options (JobInput.step_options["refine"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.backend import ErrorCode, StepError

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
    unknown = sorted(set(params) - set(_RANGES))
    if unknown:
        known = ", ".join(_RANGES)
        raise StepError(ErrorCode.INVALID_PARAMS, f"refine.{unknown[0]}: unknown option (known: {known})")
    values: dict[str, float] = {}
    for name, value in params.items():
        low, high = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StepError(ErrorCode.INVALID_PARAMS, f"refine.{name}: expected a number, got {value!r}")
        if not low <= value <= high:
            raise StepError(ErrorCode.INVALID_PARAMS, f"refine.{name}: {value} is outside {low}..{high}")
        values[name] = float(value)
    return RefineOptions(**values)
