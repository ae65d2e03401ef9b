"""Skin-weight metrics: is the torso on the spine, and do any vertices mix arms and legs?"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Skeleton, Skin
from assetcore.geometry.skeleton import joint_index, skeleton_kind
from bench.quality_metrics.bones import (
    ARM_PARTS,
    LEG_PARTS,
    dominant_joint,
    joints_where,
    spine_joints,
    weight_on,
)

MIXED_WEIGHT = 0.1  # the threshold for "weight on both an arm and a leg bone"
CORE_SHARE = 0.8  # a humanoid's torso is the part of the chest narrower than this share of the arm roots


def torso_mask(positions: npt.ArrayLike, skeleton: Skeleton) -> npt.NDArray[np.bool_]:
    """Rest-pose vertices of the torso, judged from the joint positions only (not the weights).

    Humanoid: between the Hips and Neck heights and closer to the spine's x than 80 % of the
    upper-arm roots. Quadruped: between the Hips and Spine2 along the body (z), above the mean
    height of the upper-leg roots.
    """
    points = np.asarray(positions, dtype=np.float64)
    heads = skeleton.heads.astype(np.float64)
    hips = heads[joint_index(skeleton, "Hips")]
    kind = skeleton_kind(skeleton)
    if kind == "humanoid":
        neck = heads[joint_index(skeleton, "Neck")]
        arm_x = [abs(heads[joint_index(skeleton, f"{side}Arm"), 0] - hips[0]) for side in ("Left", "Right")]
        half_width = CORE_SHARE * min(arm_x)
        core = np.abs(points[:, 0] - hips[0]) < half_width
        return np.asarray((points[:, 1] >= hips[1]) & (points[:, 1] <= neck[1]) & core, dtype=bool)
    if kind == "quadruped":
        chest = heads[joint_index(skeleton, "Spine2")]
        low, high = sorted((hips[2], chest[2]))
        leg_tops = heads[joints_where(skeleton, ("UpperLeg",))]
        above = points[:, 1] >= leg_tops[:, 1].mean()
        return np.asarray((points[:, 2] > low) & (points[:, 2] < high) & above, dtype=bool)
    raise ValueError(f"skeleton: neither humanoid nor quadruped joint names ({skeleton.names[:3]}...)")


def torso_spine_share(positions: npt.ArrayLike, skeleton: Skeleton, skin: Skin) -> float:
    """Share of torso vertices whose dominant influence is a spine-chain joint (target >= 0.95)."""
    torso = torso_mask(positions, skeleton)
    if not torso.any():
        raise ValueError("positions: no vertex lies in the torso region of the skeleton")
    on_spine = spine_joints(skeleton)[dominant_joint(skin)]
    return float(on_spine[torso].mean())


def arm_and_leg_vertices(skeleton: Skeleton, skin: Skin, threshold: float = MIXED_WEIGHT) -> int:
    """How many vertices carry more than `threshold` weight on an arm bone and on a leg bone (target 0)."""
    arms = weight_on(skin, joints_where(skeleton, ARM_PARTS))
    legs = weight_on(skin, joints_where(skeleton, LEG_PARTS))
    return int(((arms > threshold) & (legs > threshold)).sum())
