"""The refine step's options (JobInput.step_options["refine"])."""

from __future__ import annotations

from pydantic import Field

from assetcore.steps.options import Number, StepOptions


class RefineOptions(StepOptions):
    margin: Number = Field(
        0.06, ge=0.0, le=0.3, description="Empty border around the subject, share of the side."
    )
    min_component: Number = Field(
        0.02, ge=0.0, le=1.0, description="Matte islands smaller than this share of the largest are specks."
    )
    max_hole: Number = Field(
        0.01, ge=0.0, le=0.5, description="Holes up to this share of the subject are filled."
    )
    sharpen: Number = Field(0.5, ge=0.0, le=2.0, description="Unsharp-mask strength after the x2 upscale.")
