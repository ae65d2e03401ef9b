"""The tti step's advanced options (JobInput.step_options["tti"])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetcore.worker.params import StepParams

DEFAULT_SIZE = 1024
MIN_SIZE, MAX_SIZE = 256, 2048
KNOWN = ("size",)


@dataclass(frozen=True)
class TtiOptions:
    size: int = DEFAULT_SIZE  # the square image's side in pixels


def parse_options(params: Mapping[str, Any]) -> TtiOptions:
    """Validate the options; INVALID_PARAMS names the offending field."""
    options = StepParams("tti", params, KNOWN)
    return TtiOptions(size=options.integer("size", DEFAULT_SIZE, MIN_SIZE, MAX_SIZE))
