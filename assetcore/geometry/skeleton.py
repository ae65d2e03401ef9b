"""Skeleton naming conventions shared by the rig, anim and export steps.

Humanoids use Mixamo-style joint names without the "mixamorig:" prefix. Engines map them as:

| joint          | Unity Humanoid | Godot SkeletonProfileHumanoid |
|----------------|----------------|-------------------------------|
| Hips           | Hips           | Hips                          |
| Spine          | Spine          | Spine                         |
| Spine1         | Chest          | Chest                         |
| Spine2         | UpperChest     | UpperChest                    |
| Neck           | Neck           | Neck                          |
| Head           | Head           | Head                          |
| LeftShoulder   | LeftShoulder   | LeftShoulder                  |
| LeftArm        | LeftUpperArm   | LeftUpperArm                  |
| LeftForeArm    | LeftLowerArm   | LeftLowerArm                  |
| LeftHand       | LeftHand       | LeftHand                      |
| LeftUpLeg      | LeftUpperLeg   | LeftUpperLeg                  |
| LeftLeg        | LeftLowerLeg   | LeftLowerLeg                  |
| LeftFoot       | LeftFoot       | LeftFoot                      |
| LeftToeBase    | LeftToes       | LeftToes                      |
| LeftHandThumb1 | Left Thumb Proximal | LeftThumbMetacarpal      |
| LeftHandThumb2 | Left Thumb Intermediate | LeftThumbProximal    |
| LeftHandThumb3 | Left Thumb Distal | LeftThumbDistal            |
| LeftHandIndex1 | Left Index Proximal | LeftIndexProximal        |
| LeftHandIndex2 | Left Index Intermediate | LeftIndexIntermediate |
| LeftHandIndex3 | Left Index Distal | LeftIndexDistal            |

(Right* likewise; Middle, Ring and Pinky as Index, Pinky being Unity's "Little" and Godot's
LittleX.) HeadTop_End, LeftToe_End, RightToe_End and the finger tips LeftHandIndex4 etc. are
Mixamo's non-deforming leaf joints; engines ignore them and the export step may strip them.
Fingers are optional: the rig adds them only where the hand can hold them (services.rig.fingers).

Quadrupeds (this project's convention, glTF axes: the animal faces +Z, its left is +X):
Hips (root, pelvis above the hind legs) -> Spine -> Spine1 -> Spine2 (chest above the front
legs) -> Neck -> Head (tail at the muzzle tip); Hips -> Tail1 -> ... -> TailN (when the mesh has
a tail); Spine2 -> FrontLeftUpperLeg -> FrontLeftLowerLeg -> FrontLeftFoot, and
Hips -> HindLeftUpperLeg -> HindLeftLowerLeg -> HindLeftFoot (Right* likewise). In Godot a
quadruped needs a custom SkeletonProfile; Unity maps it as a Generic rig.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Skeleton

SkeletonKind = Literal["humanoid", "quadruped"]

SIDES = ("Left", "Right")

HUMANOID_LAYOUT: tuple[tuple[str, str | None], ...] = (
    ("Hips", None),
    ("Spine", "Hips"),
    ("Spine1", "Spine"),
    ("Spine2", "Spine1"),
    ("Neck", "Spine2"),
    ("Head", "Neck"),
    ("HeadTop_End", "Head"),
    *(
        pair
        for side in SIDES
        for pair in (
            (f"{side}Shoulder", "Spine2"),
            (f"{side}Arm", f"{side}Shoulder"),
            (f"{side}ForeArm", f"{side}Arm"),
            (f"{side}Hand", f"{side}ForeArm"),
        )
    ),
    *(
        pair
        for side in SIDES
        for pair in (
            (f"{side}UpLeg", "Hips"),
            (f"{side}Leg", f"{side}UpLeg"),
            (f"{side}Foot", f"{side}Leg"),
            (f"{side}ToeBase", f"{side}Foot"),
            (f"{side}Toe_End", f"{side}ToeBase"),
        )
    ),
)

FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")  # thumb side first
FINGER_JOINTS = 4  # three phalanges and the tip's leaf joint, as Mixamo names them


def finger_chain(side: str, finger: str) -> tuple[str, ...]:
    """One finger's joints from the knuckle out: LeftHandIndex1 .. LeftHandIndex4 (the tip's leaf)."""
    return tuple(f"{side}Hand{finger}{i}" for i in range(1, FINGER_JOINTS + 1))


def finger_layout(side: str) -> tuple[tuple[str, str | None], ...]:
    """The finger joints of one hand in parent-first order, each chain hanging from {side}Hand."""
    layout: list[tuple[str, str | None]] = []
    for finger in FINGERS:
        chain = finger_chain(side, finger)
        layout += [(name, f"{side}Hand" if i == 0 else chain[i - 1]) for i, name in enumerate(chain)]
    return tuple(layout)


_FINGER_TIPS = frozenset(finger_chain(side, finger)[-1] for side in SIDES for finger in FINGERS)

QUADRUPED_LEGS = tuple(f"{end}{side}" for end in ("Front", "Hind") for side in SIDES)


def quadruped_layout(tail_joints: int) -> tuple[tuple[str, str | None], ...]:
    """The quadruped joints in parent-first order, with `tail_joints` tail bones (0 for none)."""
    layout: list[tuple[str, str | None]] = [
        ("Hips", None),
        ("Spine", "Hips"),
        ("Spine1", "Spine"),
        ("Spine2", "Spine1"),
        ("Neck", "Spine2"),
        ("Head", "Neck"),
    ]
    layout += [(f"Tail{i}", "Hips" if i == 1 else f"Tail{i - 1}") for i in range(1, tail_joints + 1)]
    for leg in QUADRUPED_LEGS:
        parent = "Spine2" if leg.startswith("Front") else "Hips"
        layout += [
            (f"{leg}UpperLeg", parent),
            (f"{leg}LowerLeg", f"{leg}UpperLeg"),
            (f"{leg}Foot", f"{leg}LowerLeg"),
        ]
    return tuple(layout)


def is_end_joint(name: str) -> bool:
    """Leaf joints that only mark where a chain ends (*_End, finger tips); they carry no skin weights."""
    return name.endswith("_End") or name in _FINGER_TIPS


def build_skeleton(
    layout: Sequence[tuple[str, str | None]],
    heads: Mapping[str, npt.ArrayLike],
    tails: Mapping[str, npt.ArrayLike],
) -> Skeleton:
    """A Skeleton from a parent-first layout and per-joint rest heads and tails (model space)."""
    names = [name for name, _ in layout]
    index = {name: i for i, name in enumerate(names)}
    parents = np.array([-1 if parent is None else index[parent] for _, parent in layout], dtype=np.int32)
    return Skeleton(
        names=names,
        parents=parents,
        heads=np.array([heads[name] for name in names], dtype=np.float32).reshape(-1, 3),
        tails=np.array([tails[name] for name in names], dtype=np.float32).reshape(-1, 3),
    )


def skeleton_kind(skeleton: Skeleton) -> SkeletonKind | None:
    """Which convention a skeleton follows, from its joint names (None: neither)."""
    names = set(skeleton.names)
    if all(name in names for name, _ in HUMANOID_LAYOUT if not is_end_joint(name)):
        return "humanoid"
    if all(name in names for name, _ in quadruped_layout(0)):
        return "quadruped"
    return None


def joint_index(skeleton: Skeleton, name: str) -> int:
    """Index of a joint by name; KeyError naming the joint when absent."""
    try:
        return skeleton.names.index(name)
    except ValueError:
        raise KeyError(f"the skeleton has no joint {name!r}") from None


def deforming_joints(skeleton: Skeleton) -> list[int]:
    """Indices of the joints that carry skin weights (all but the *_End leaves)."""
    return [i for i, name in enumerate(skeleton.names) if not is_end_joint(name)]


def leg_length(skeleton: Skeleton) -> float:
    """Hip-to-floor height of the first leg (UpLeg / HindLeftUpperLeg): the scale of gaits."""
    for name in ("LeftUpLeg", "HindLeftUpperLeg"):
        if name in skeleton.names:
            return float(max(skeleton.heads[joint_index(skeleton, name), 1], 1e-6))
    return float(max(np.ptp(skeleton.heads[:, 1]), 1e-6))
