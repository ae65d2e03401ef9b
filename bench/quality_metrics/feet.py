"""Planted-foot slide: how fast a foot moves sideways while it should be standing on the ground."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Clip, Skeleton
from bench.quality_metrics.skinning import world_pose

PLANT_TOLERANCE = 0.02  # metres above the foot joint's rest height that still count as planted


def foot_joints(skeleton: Skeleton) -> list[int]:
    """The ankle/hoof joints: LeftFoot, RightFoot, FrontLeftFoot, ..."""
    return [j for j, name in enumerate(skeleton.names) if name.endswith("Foot")]


def planted_speeds(
    skeleton: Skeleton, clip: Clip, tolerance: float = PLANT_TOLERANCE
) -> npt.NDArray[np.float64]:
    """Horizontal speeds (m/s) of every foot between consecutive frames in which it is planted.

    Planted: the joint is no higher than its rest height (standing on the floor) plus `tolerance`.
    """
    feet = foot_joints(skeleton)
    if not feet or clip.frame_count < 2:
        return np.zeros(0)
    _, heads = world_pose(skeleton, clip)
    track = heads[:, feet]  # (T, F, 3)
    rest_height = skeleton.heads[feet, 1].astype(np.float64)
    planted = track[:, :, 1] <= rest_height + tolerance
    both = planted[1:] & planted[:-1]
    steps = np.linalg.norm(np.diff(track[:, :, [0, 2]], axis=0), axis=2) * clip.fps
    return np.asarray(steps[both], dtype=np.float64)


def mean_planted_slide(
    skeleton: Skeleton, clips: list[Clip], tolerance: float = PLANT_TOLERANCE
) -> float | None:
    """Mean planted-foot horizontal speed over all clips (m/s); None when no foot is ever planted."""
    speeds = np.concatenate([planted_speeds(skeleton, clip, tolerance) for clip in clips] or [np.zeros(0)])
    return float(speeds.mean()) if speeds.size else None
