"""The triposr backend's own options (besides the step's, services/image3d/options.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from assetcore.steps.options import Integer, StepOptions, real_number

ForegroundRatio = Annotated[float, Field(ge=0.5, le=1.0), BeforeValidator(real_number)]


class TriposrOptions(StepOptions):
    marching_cubes_resolution: Integer = Field(
        256,
        ge=32,
        le=512,
        description="Density samples along each side of the extraction grid (TripoSR's default: 256).",
    )
    chunk_size: Integer = Field(
        8192, ge=256, le=1 << 20, description="Grid points decoded at once: lower uses less GPU memory."
    )
    foreground_ratio: ForegroundRatio = Field(
        0.85, description="The subject's share of the model's input image side (TripoSR's default: 0.85)."
    )
