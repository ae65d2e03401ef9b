"""The multiview step's options (JobInput.step_options["multiview"]) and the zero123pp backend's."""

from __future__ import annotations

from pydantic import Field

from assetcore.multiview import TILE
from assetcore.steps.options import Integer, Number, StepOptions


class MultiviewOptions(StepOptions):
    tile: Integer = Field(
        TILE,
        ge=64,
        le=1024,
        multiple_of=64,  # whole latents through every down block of an SD-family UNet
        description="Each view's side in pixels; Zero123++ v1.2 was trained at 320.",
    )


class Zero123ppOptions(StepOptions):
    steps: Integer = Field(
        28,
        ge=1,
        le=100,
        description="Denoising steps: Zero123++ suggests 28 for most objects, 75 for fine detail (faces).",
    )
    guidance_scale: Number = Field(
        4.0,
        ge=1.0,
        le=15.0,
        description="Classifier-free guidance towards the condition image; 1 turns it off.",
    )
