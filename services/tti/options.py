"""The tti step's advanced options (JobInput.step_options["tti"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.backend import ErrorCode, StepError

DEFAULT_SIZE = 1024
MIN_SIZE, MAX_SIZE = 256, 2048
KNOWN = ("size",)


@dataclass(frozen=True)
class TtiOptions:
    size: int = DEFAULT_SIZE  # the square image's side in pixels


def parse_options(params: Mapping[str, Any]) -> TtiOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise StepError(
            ErrorCode.INVALID_PARAMS, f"tti.{unknown[0]}: unknown option (known: {', '.join(KNOWN)})"
        )
    size = params.get("size", DEFAULT_SIZE)
    if isinstance(size, float) and size.is_integer():
        size = int(size)  # protobuf Struct numbers arrive as floats
    if isinstance(size, bool) or not isinstance(size, int):
        raise StepError(ErrorCode.INVALID_PARAMS, f"tti.size: expected an integer, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise StepError(ErrorCode.INVALID_PARAMS, f"tti.size: {size} is outside {MIN_SIZE}..{MAX_SIZE}")
    return TtiOptions(size=size)
