"""The hunyuan3d backend's own options (besides the step's, services/image3d/options.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from assetcore.steps.options import Integer, StepOptions, real_number

GuidanceScale = Annotated[float, Field(ge=0.0, le=20.0), BeforeValidator(real_number)]


class Hunyuan3dOptions(StepOptions):
    octree_resolution: Integer = Field(
        256,
        ge=16,
        le=512,
        description="Occupancy samples along each side of the extraction grid, minus one "
        "(Hunyuan3D-2 publishes 256 and 380; cost grows with its cube).",
    )
    inference_steps: Integer = Field(
        50, ge=1, le=100, description="Flow-matching denoising steps (Hunyuan3D-2's default: 50)."
    )
    guidance_scale: GuidanceScale = Field(
        5.0, description="Classifier-free guidance towards the image (Hunyuan3D-2's default: 5)."
    )
    num_chunks: Integer = Field(
        8000,
        ge=256,
        le=1 << 20,
        description="Grid points decoded at once (hy3dgen's num_chunks): lower uses less GPU memory.",
    )
