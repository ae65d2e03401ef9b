"""Options of the tti step's "sdxl" backend (besides TtiOptions' size)."""

from __future__ import annotations

from pydantic import Field, field_validator

from assetcore.ml.sdxl import SCHEDULERS
from assetcore.steps.options import Flag, Integer, Number, StepOptions, Text

MAX_CANDIDATES = 8


class LoraChoice(StepOptions):
    name: Text = Field(
        pattern=r"^lora-[a-z0-9][a-z0-9._-]*$", description='The LoRA\'s model-store name, e.g. "lora-toon".'
    )
    scale: Number = Field(1.0, ge=-2.0, le=2.0, description="How strongly the LoRA applies.")


class SdxlOptions(StepOptions):
    steps: Integer = Field(30, ge=1, le=150, description="Denoising steps, base and refiner together.")
    guidance: Number = Field(6.0, ge=0.0, le=30.0, description="Classifier-free guidance scale.")
    scheduler: Text | None = Field(
        None, description=f"The sampler: one of {', '.join(SCHEDULERS)}; default: the model's own."
    )
    negative_prompt: Text | None = Field(
        None, description="What to steer away from; default: clutter, crops and extra subjects."
    )
    candidates: Integer = Field(
        1, ge=1, le=MAX_CANDIDATES, description="Images drawn per job; each is kept, the first is chosen."
    )
    refiner: Flag = Field(True, description="Finish with the refiner model when the store has one.")
    refiner_split: Number = Field(
        0.8, gt=0.0, lt=1.0, description="Share of the denoising done by the base before the refiner."
    )
    resolution: Integer | None = Field(
        None,
        ge=64,
        le=2048,
        multiple_of=64,
        description="Generation side in pixels, resized to size; default: the model's own (SDXL: 1024).",
    )
    loras: tuple[LoraChoice, ...] = Field((), max_length=4, description="LoRAs from the model store.")

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str | None) -> str | None:
        if value is not None and value not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {value!r} (known: {', '.join(SCHEDULERS)})")
        return value
