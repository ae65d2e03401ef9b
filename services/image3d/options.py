"""The image3d step's options (JobInput.step_options["image3d"])."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from assetcore.steps.options import Integer, StepOptions, real_number

DepthScale = Annotated[float, Field(ge=0.2, le=3.0), BeforeValidator(real_number)]


class Image3dOptions(StepOptions):
    resolution: Integer = Field(
        192,
        ge=64,
        le=384,
        description="Voxels along the longest side: 60k-300k triangles, 0.5-2 s a step on 2 cores.",
    )
    depth_scale: DepthScale | None = Field(
        None, ge=0.2, le=3.0, description="Depth of the shape; default: its category's."
    )
