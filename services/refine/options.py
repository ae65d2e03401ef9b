"""The refine step's options (JobInput.step_options["refine"])."""

from __future__ import annotations

from pydantic import Field

from assetcore.steps.options import Integer, Number, StepOptions


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


class Img2ImgOptions(StepOptions):
    """The SDXL img2img pass of the sdxl-img2img backends."""

    strength: Number = Field(
        0.35, ge=0.0, le=1.0, description="How far img2img may move from the concept: 0 keeps it, 1 redraws."
    )
    steps: Integer = Field(
        20,
        ge=1,
        le=100,
        description="Denoising steps of a full redraw; img2img runs strength x steps of them.",
    )
