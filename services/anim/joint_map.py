"""Map a BVH's joints onto the asset's humanoid joints: by name first, then by structure.

Names are compared after dropping namespace prefixes ("mixamorig:") and case, spaces,
underscores, dots and dashes, against the Mixamo names and common aliases (CMU's ASF names
such as lhumerus/ltibia, Biovision's LeftHip/LeftKnee/LeftCollar, Unity's LeftUpperArm...).
Core joints left unnamed are found from the hierarchy: the head is the highest leaf along the
up axis, the feet the two lowest, the hands the outermost others; chains are read back from
those ends.
"""

from __future__ import annotations

import re

import numpy as np

from assetcore.geometry.skeleton import SIDES
from services.anim.bvh import BvhMotion
from services.anim.quaternions import Floats

_CENTRE_ALIASES = {
    "Hips": ("hips", "hip", "pelvis", "root"),
    "Spine": ("spine", "lowerback", "abdomen", "spine01", "spinelower", "waist", "torso"),
    "Spine1": ("spine1", "upperback", "chest", "spine02", "spinemid", "spinemiddle"),
    "Spine2": ("spine2", "thorax", "upperchest", "chest2", "spine03", "spineupper"),
    "Neck": ("neck", "lowerneck", "neck01", "neck1"),
    "Head": ("head",),
}
# {side} is the side word ("left"/"right"), {s} its letter ("l"/"r").
_LIMB_ALIASES = {
    "Shoulder": (
        "{side}shoulder",
        "{s}clavicle",
        "{side}collar",
        "{s}collar",
        "{side}clavicle",
        "clavicle{s}",
        "{s}clav",
    ),
    "Arm": (
        "{side}arm",
        "{s}humerus",
        "{side}upperarm",
        "{s}uparm",
        "{s}shldr",
        "upperarm{s}",
        "{s}upperarm",
        "{side}uparm",
    ),
    "ForeArm": (
        "{side}forearm",
        "{s}radius",
        "{side}lowerarm",
        "{s}forearm",
        "{side}elbow",
        "{s}elbow",
        "lowerarm{s}",
        "{s}lowerarm",
    ),
    "Hand": ("{side}hand", "{s}wrist", "{s}hand", "{side}wrist", "hand{s}"),
    "UpLeg": (
        "{side}upleg",
        "{s}femur",
        "{side}thigh",
        "{s}thigh",
        "{side}upperleg",
        "{side}hip",
        "{s}hip",
        "thigh{s}",
        "upperleg{s}",
        "{s}upleg",
        "{s}upperleg",
    ),
    "Leg": (
        "{side}leg",
        "{s}tibia",
        "{side}shin",
        "{s}shin",
        "{side}lowerleg",
        "{side}knee",
        "{s}knee",
        "calf{s}",
        "{s}calf",
        "lowerleg{s}",
        "{s}lowerleg",
    ),
    "Foot": ("{side}foot", "{s}foot", "{side}ankle", "{s}ankle", "foot{s}"),
    "ToeBase": ("{side}toebase", "{s}toes", "{side}toe", "{s}toe", "{side}toes", "toe{s}", "{s}toebase"),
}
CORE = (
    "Hips",
    "Spine",
    "Neck",
    "Head",
    *(f"{side}{part}" for side in SIDES for part in ("Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot")),
)


def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for target, names in _CENTRE_ALIASES.items():
        for name in names:
            table.setdefault(name, target)
    for side in SIDES:
        word, letter = side.lower(), side[0].lower()
        for part, patterns in _LIMB_ALIASES.items():
            for pattern in patterns:
                table.setdefault(pattern.format(side=word, s=letter), f"{side}{part}")
    return table


ALIASES = _aliases()


def normalise(name: str) -> str:
    """'mixamorig:Left_Fore-Arm' -> 'leftforearm'."""
    return re.sub(r"[\s_.\-]", "", re.split(r"[:|]", name)[-1]).lower()


def map_by_name(motion: BvhMotion) -> dict[str, int]:
    """Target joint name -> source joint index, from names (first source joint wins)."""
    found: dict[str, int] = {}
    for index, joint in enumerate(motion.joints):
        target = ALIASES.get(normalise(joint.name))
        if target is not None and target not in found:
            found[target] = index
    for side in SIDES:  # Biovision: LeftCollar is the clavicle, so its LeftShoulder is the upper arm
        collar = {f"{side.lower()}collar", f"{side[0].lower()}collar"}
        names = {normalise(joint.name) for joint in motion.joints}
        if names & collar and f"{side.lower()}shoulder" in names:
            shoulder = next(
                i for i, j in enumerate(motion.joints) if normalise(j.name) == f"{side.lower()}shoulder"
            )
            found[f"{side}Arm"] = shoulder
            found[f"{side}Shoulder"] = next(
                i for i, j in enumerate(motion.joints) if normalise(j.name) in collar
            )
    return found


def source_axes(rest: Floats, names: dict[str, int]) -> tuple[Floats, Floats]:
    """The source's up and left directions at rest: from its named head, feet and hips when it has
    them (up snapped to the nearest axis), else BVH's usual +Y up and +X left."""
    up = np.array([0.0, 1.0, 0.0])
    feet = [names[f"{side}Foot"] for side in SIDES if f"{side}Foot" in names]
    if "Head" in names and feet:
        rise = rest[names["Head"]] - rest[feet].mean(axis=0)
        axis = int(np.argmax(np.abs(rise)))
        up = np.zeros(3)
        up[axis] = np.sign(rise[axis]) or 1.0
    left = np.array([1.0, 0.0, 0.0])
    for pair in (("LeftUpLeg", "RightUpLeg"), ("LeftArm", "RightArm")):
        if all(name in names for name in pair):
            across = rest[names[pair[0]]] - rest[names[pair[1]]]
            across = across - (across @ up) * up
            if np.linalg.norm(across) > 1e-9:
                left = across / np.linalg.norm(across)
                break
    if abs(float(left @ up)) > 0.9:
        left = np.cross(up, np.array([0.0, 0.0, 1.0]))
        left = left / np.linalg.norm(left)
    return up, left


def map_by_structure(motion: BvhMotion, rest: Floats, up: Floats, left: Floats) -> dict[str, int]:
    """Target joint name -> source joint index from the hierarchy's shape (core joints only)."""
    children = _children(motion)
    leaves = _leaves(motion)
    if len(leaves) < 5:
        return {}
    height = {leaf: float(rest[leaf] @ up) for leaf in leaves}
    head = max(leaves, key=lambda leaf: height[leaf])
    feet = sorted(
        sorted(leaves, key=lambda leaf: height[leaf])[:2], key=lambda leaf: -float(rest[leaf] @ left)
    )
    others = [leaf for leaf in leaves if leaf != head and leaf not in feet]
    if len(others) < 2:
        return {}
    hands = [
        max(others, key=lambda leaf: float(rest[leaf] @ left)),
        min(others, key=lambda leaf: float(rest[leaf] @ left)),
    ]
    head_chain = _path(motion, head)
    found: dict[str, int] = {"Hips": 0}
    for side, foot in zip(SIDES, feet, strict=True):
        chain = _path(motion, foot)
        leg = chain[chain.index(_last_common(head_chain, chain)) + 1 :]
        parts = ("UpLeg", "Leg", "Foot", "ToeBase") if len(leg) >= 4 else ("UpLeg", "Leg", "Foot")[: len(leg)]
        for part, joint in zip(parts, leg[-len(parts) :], strict=True):
            found[f"{side}{part}"] = joint
    branch = _last_common(head_chain, _path(motion, hands[0]))
    for side, tip in zip(SIDES, hands, strict=True):
        chain = _path(motion, tip)
        hand = _hand(chain[chain.index(branch) + 1 :], children)
        arm = chain[chain.index(branch) + 1 : chain.index(hand) + 1]
        parts = ("Shoulder", "Arm", "ForeArm", "Hand")[-min(len(arm), 4) :]
        for part, joint in zip(parts, arm[-len(parts) :], strict=True):
            found[f"{side}{part}"] = joint
    spine = head_chain[1 : head_chain.index(branch) + 1]
    for part, joint in zip(("Spine", "Spine1", "Spine2"), _spread(spine, 3), strict=False):
        found[part] = joint
    neck = head_chain[head_chain.index(branch) + 1 :]
    if neck:
        found["Neck"] = neck[0]
        found["Head"] = neck[-1]
    return found


def _children(motion: BvhMotion) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in motion.joints]
    for index, joint in enumerate(motion.joints):
        if joint.parent >= 0:
            children[joint.parent].append(index)
    return children


def _leaves(motion: BvhMotion) -> list[int]:
    children = _children(motion)
    return [index for index in range(len(motion.joints)) if not children[index] and index > 0]


def _path(motion: BvhMotion, joint: int) -> list[int]:
    """Root-to-joint indices."""
    path = [joint]
    while motion.joints[path[-1]].parent >= 0:
        path.append(motion.joints[path[-1]].parent)
    return path[::-1]


def _last_common(a: list[int], b: list[int]) -> int:
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return a[common - 1]


def _hand(arm: list[int], children: list[list[int]]) -> int:
    """The wrist: the first joint of the arm where fingers branch off (the arm's end if none do)."""
    for joint in arm:
        if len(children[joint]) > 1:
            return joint
    return arm[-1]


def _spread(joints: list[int], count: int) -> list[int]:
    """Up to `count` joints picked evenly from a run, always ending with its last."""
    if len(joints) <= count:
        return joints
    picks = np.linspace(0, len(joints) - 1, count).round().astype(int)
    return [joints[i] for i in picks]
