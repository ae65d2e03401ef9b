"""Which joints are spine, arm, hand and leg, and which bone each vertex belongs to.

Groups follow assetcore.geometry.skeleton's naming (humanoid Mixamo-style names, the project's
quadruped names). Geometric membership (nearest rest bone segment) is used where the skin
weights are what is being judged, so that a bad skin cannot hide its own faults.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Skeleton, Skin
from assetcore.geometry.skeleton import is_end_joint

SPINE_CHAIN = frozenset({"Hips", "Spine", "Spine1", "Spine2", "Neck"})
ARM_PARTS = ("Shoulder", "Arm", "ForeArm", "Hand")
LEG_PARTS = ("UpLeg", "Leg", "Foot", "ToeBase", "UpperLeg", "LowerLeg")


def _side_stripped(name: str) -> str:
    for prefix in ("FrontLeft", "FrontRight", "HindLeft", "HindRight", "Left", "Right"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def joints_where(skeleton: Skeleton, parts: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    """Mask (J,) of the sided joints whose name without its side is one of `parts`."""
    return np.array(
        [name != _side_stripped(name) and _side_stripped(name) in parts for name in skeleton.names],
        dtype=bool,
    )


def spine_joints(skeleton: Skeleton) -> npt.NDArray[np.bool_]:
    """Mask (J,) of the spine chain: Hips up to the neck (the head is not torso)."""
    return np.array([name in SPINE_CHAIN for name in skeleton.names], dtype=bool)


def dominant_joint(skin: Skin) -> npt.NDArray[np.int64]:
    """The joint of each vertex's largest weight."""
    slot = np.argmax(skin.weights, axis=1)
    return np.asarray(skin.joints[np.arange(len(slot)), slot], dtype=np.int64)


def weight_on(skin: Skin, joints: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Each vertex's total weight on the masked joints."""
    return np.asarray(
        np.where(joints[skin.joints.astype(np.int64)], skin.weights, 0.0).sum(axis=1), np.float64
    )


def nearest_bone(positions: npt.ArrayLike, skeleton: Skeleton) -> npt.NDArray[np.int64]:
    """Index of the deforming joint whose rest bone segment (head to tail) is nearest each point."""
    points = np.asarray(positions, dtype=np.float64)
    bones = np.array([j for j, name in enumerate(skeleton.names) if not is_end_joint(name)])
    heads = skeleton.heads[bones].astype(np.float64)
    axes = skeleton.tails[bones].astype(np.float64) - heads
    lengths = np.maximum((axes * axes).sum(axis=1), 1e-12)
    offsets = points[:, None, :] - heads[None]  # (V, B, 3)
    t = np.clip((offsets * axes[None]).sum(axis=2) / lengths, 0.0, 1.0)
    distances = np.linalg.norm(offsets - t[..., None] * axes[None], axis=2)
    return np.asarray(bones[np.argmin(distances, axis=1)], dtype=np.int64)
