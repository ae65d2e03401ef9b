"""What the anim step is asked for: JobInput.animation plus its advanced options
(JobInput.step_options["anim"]), validated with INVALID_PARAMS naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assetcore.worker.backend import ErrorCode, StepError, StepRequest
from assetcore.worker.params import StepParams
from services.anim.clips import ALL_CLIPS

DEFAULT_FPS = 30
MIN_FPS, MAX_FPS = 1, 120
DEFAULT_BVH_CLIP = "bvh"
BVH_INPUT = "bvh"  # the job's BVH file, stored by the orchestrator as an input artifact
KNOWN = ("bvh_name",)
_CLIP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class AnimOptions:
    clips: tuple[str, ...]  # requested clip names; empty: the whole library for the skeleton
    fps: int
    in_place: bool
    bvh: bytes  # empty: none
    bvh_name: str


def parse_options(request: StepRequest) -> AnimOptions:
    animation = request.job.animation
    options = StepParams("anim", request.params, KNOWN)
    fps = animation.fps or DEFAULT_FPS
    if not MIN_FPS <= fps <= MAX_FPS:
        raise StepError(ErrorCode.INVALID_PARAMS, f"animation.fps: {fps} is outside {MIN_FPS}..{MAX_FPS}")
    for name in animation.clips:
        if name not in ALL_CLIPS:
            raise StepError(
                ErrorCode.INVALID_PARAMS,
                f"animation.clips: unknown clip {name!r} (known: {', '.join(ALL_CLIPS)})",
            )
    bvh_name = options.text("bvh_name", DEFAULT_BVH_CLIP)
    if not _CLIP_NAME.match(bvh_name):
        raise options.error("bvh_name", f"{bvh_name!r} is not a lowercase name of letters, digits, _ or -")
    if bvh_name in ALL_CLIPS:
        raise options.error("bvh_name", f"{bvh_name!r} is the name of a generated clip")
    return AnimOptions(
        clips=tuple(animation.clips),
        fps=int(fps),
        in_place=bool(animation.in_place),
        bvh=request.inputs[BVH_INPUT].data if BVH_INPUT in request.inputs else bytes(animation.bvh),
        bvh_name=bvh_name,
    )
