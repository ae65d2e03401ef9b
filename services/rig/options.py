"""The rig step's options (JobInput.step_options["rig"])."""

from __future__ import annotations

from pydantic import Field

from assetcore.steps.options import Integer, StepOptions


class RigOptions(StepOptions):
    resolution: Integer = Field(
        128, ge=64, le=256, description="Voxels along the mesh's longest side for the fit."
    )
