"""The rig step's options (JobInput.step_options["rig"])."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from assetcore.steps.options import Integer, StepOptions

FingerMode = Literal["auto", "always", "never"]


class RigOptions(StepOptions):
    resolution: Integer = Field(
        128, ge=64, le=256, description="Voxels along the mesh's longest side for the fit."
    )
    fingers: FingerMode = Field(
        "auto",
        description="Finger chains (Mixamo's LeftHandThumb1..LeftHandPinky4) on humanoid hands: 'auto' only "
        "where the hand is long and flat enough to hold them, 'always' on every hand, 'never' on none.",
    )
