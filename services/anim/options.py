"""What the anim step is asked for: JobInput.animation (clips, fps, in place, a BVH) and its
own options (JobInput.step_options["anim"]); every problem names its field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from pydantic import Field, field_validator

from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import OptionError, StepOptions, Text
from assetcore.worker.backend import StepRequest
from services.anim.vocabulary import ALL_CLIPS, DEFAULTS, RIG_KINDS, VOCABULARY

DEFAULT_FPS = 30
MIN_FPS, MAX_FPS = 1, 120
BVH_INPUT = "bvh"  # the job's BVH file, stored by the orchestrator as an input artifact
_CLIP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class AnimOptions(StepOptions):
    bvh_name: Text = Field("bvh", description="The retargeted BVH clip's name.")

    @field_validator("bvh_name")
    @classmethod
    def _clip_name(cls, value: str) -> str:
        if not _CLIP_NAME.match(value):
            raise ValueError(f"{value!r} is not a lowercase name of letters, digits, _ or -")
        if value in ALL_CLIPS:
            raise ValueError(f"{value!r} is the name of a generated clip")
        return value

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        animation = job.animation
        if animation.fps and not MIN_FPS <= animation.fps <= MAX_FPS:
            raise OptionError("input.animation.fps", f"{animation.fps} is outside {MIN_FPS}..{MAX_FPS}")
        known = VOCABULARY.get(RIG_KINDS.get(job.constraints.rig_type, ""), ALL_CLIPS)
        seen: set[str] = set()
        for i, clip in enumerate(animation.clips):
            if clip not in known:
                raise OptionError(
                    f"input.animation.clips[{i}]",
                    f"unknown clip {clip!r} for this rig (known: {', '.join(known)})",
                )
            if clip in seen:
                raise OptionError(f"input.animation.clips[{i}]", f"clip {clip!r} listed twice")
            seen.add(clip)
        return super().resolve(job, params)


def fill_defaults(job: job_pb2.JobInput) -> None:
    """The resolved job names its clips (the rig's default set) and fps."""
    animation = job.animation
    animation.fps = animation.fps or DEFAULT_FPS
    kind = RIG_KINDS.get(job.constraints.rig_type)
    if not animation.clips and kind is not None:
        animation.clips.extend(DEFAULTS[kind])


@dataclass(frozen=True)
class AnimPlan:
    clips: tuple[str, ...]  # requested clip names; empty: the default set for the skeleton
    fps: int
    in_place: bool
    bvh: bytes  # empty: none
    bvh_name: str


def anim_plan(request: StepRequest) -> AnimPlan:
    animation = request.job.animation
    return AnimPlan(
        clips=tuple(animation.clips),
        fps=int(animation.fps or DEFAULT_FPS),
        in_place=bool(animation.in_place),
        bvh=request.inputs[BVH_INPUT].data if BVH_INPUT in request.inputs else bytes(animation.bvh),
        bvh_name=request.options_as(AnimOptions).bvh_name,
    )
