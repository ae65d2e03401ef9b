"""The anim step's quality gates (run where the step runs; services/anim/step.py names them)."""

from __future__ import annotations

import numpy as np

from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Clip
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.anim.vocabulary import ALL_CLIPS

UNIT_TOLERANCE = 1e-3
MIN_MOTION_DEGREES = 1.0  # some joint must turn at least this much over a generated clip


def check_clips(output: StepOutput, request: StepRequest) -> None:
    animated = next((f for f in output.files if f.name == "animated"), None)
    if animated is None:
        raise StepError(ErrorCode.INTERNAL, "anim: the backend returned no 'animated' output")
    for clip in read_glb(animated.data).clips:
        check_clip(clip, generated=clip.name in ALL_CLIPS)


def check_clip(clip: Clip, generated: bool) -> None:
    """Quality gate: finite values, unit quaternions; generated clips move, and loops close exactly."""
    rotations = clip.rotations.astype(np.float64)
    if not (np.isfinite(rotations).all() and np.isfinite(clip.root_translations).all()):
        raise StepError(ErrorCode.INTERNAL, f"anim: clip {clip.name!r} has NaN or infinite values")
    if np.abs(np.linalg.norm(rotations, axis=-1) - 1.0).max() > UNIT_TOLERANCE:
        raise StepError(
            ErrorCode.INTERNAL, f"anim: clip {clip.name!r} has rotations that are not unit quaternions"
        )
    if not generated:
        return
    turn = 2.0 * np.degrees(np.arccos(np.clip(np.abs(np.sum(rotations * rotations[:1], axis=-1)), 0.0, 1.0)))
    if turn.max() < MIN_MOTION_DEGREES:
        raise StepError(ErrorCode.INTERNAL, f"anim: clip {clip.name!r} does not move any bone")
    if clip.loop and np.abs(rotations[-1] - rotations[0]).max() > UNIT_TOLERANCE:
        raise StepError(ErrorCode.INTERNAL, f"anim: looping clip {clip.name!r} does not end where it starts")
