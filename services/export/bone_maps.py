"""Engine humanoid bone maps: which of our joints is which bone of Unity's Humanoid avatar and of
Godot's SkeletonProfileHumanoid, and whether the skeleton's hierarchy agrees with the profile's.

The profiles are data transcribed from the engines' documentation (cited at each): the body bones
and the optional finger bones (the rig adds fingers where the hands can hold them); eyes and jaw,
optional in both engines, are left out as our rig has none. A map is built from the exported
skeleton's own names, so it follows every renaming the export step applies (Godot's profile names,
the "mixamorig:" prefix).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import FINGERS, SIDES, finger_chain


@dataclass(frozen=True)
class BoneProfile:
    """An engine's humanoid bone set: each bone's parent bone, and the bones it cannot do without."""

    key: str  # the manifest's name for the map
    title: str
    docs: str
    parents: Mapping[str, str | None]
    required: frozenset[str]
    joint_bones: Mapping[str, str]  # our Mixamo-style joint name -> the profile's bone

    def bone_of(self, joint: str) -> str | None:
        """The profile bone a (prefix-free) joint name stands for: a Mixamo name or the bone's own."""
        bone = self.joint_bones.get(joint, joint)
        return bone if bone in self.parents else None

    def mapped_parent(self, bone: str, mapped: Mapping[str, str]) -> str | None:
        """The bone's nearest ancestor in the profile that the map assigns (optional bones skipped)."""
        parent = self.parents[bone]
        while parent is not None and parent not in mapped:
            parent = self.parents[parent]
        return parent


class BoneMapError(ValueError):
    """A skeleton that does not satisfy an engine's humanoid profile; `problems` lists every fault."""

    def __init__(self, profile: BoneProfile, problems: list[str]) -> None:
        super().__init__(f"the skeleton does not map to {profile.title}: " + "; ".join(problems))
        self.profile = profile
        self.problems = problems


def _limbs(shoulder_parent: str) -> dict[str, str | None]:
    chains = (
        (shoulder_parent, "Shoulder", "UpperArm", "LowerArm", "Hand"),
        ("Hips", "UpperLeg", "LowerLeg", "Foot", "Toes"),
    )
    parents: dict[str, str | None] = {}
    for side in SIDES:
        for root, *bones in chains:
            parent = root
            for bone in bones:
                parents[f"{side}{bone}"] = parent
                parent = f"{side}{bone}"
    return parents


_SPINE: dict[str, str | None] = {
    "Spine": "Hips",
    "Chest": "Spine",
    "UpperChest": "Chest",
    "Neck": "UpperChest",
    "Head": "Neck",
}
_REQUIRED_LIMB_BONES = ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot")

# Each profile's words for a finger and its three bones from the hand out (Mixamo's Finger1..3).
# Unity (HumanTrait.BoneName): "Left Thumb Proximal" .. "Left Little Distal", the thumb's first bone
# called proximal; Godot: LeftThumbMetacarpal/Proximal/Distal, LeftIndexProximal/Intermediate/Distal.
_FINGER_WORDS = dict(zip(FINGERS, ("Thumb", "Index", "Middle", "Ring", "Little"), strict=True))
_UNITY_PHALANGES = ("Proximal", "Intermediate", "Distal")
_GODOT_PHALANGES = {"Thumb": ("Metacarpal", "Proximal", "Distal")}


def _finger_bones(*, godot: bool) -> tuple[dict[str, str | None], dict[str, str]]:
    """One profile's finger bones: each bone's parent, and our joint name -> bone."""
    parents: dict[str, str | None] = {}
    joints: dict[str, str] = {}
    for side in SIDES:
        for finger in FINGERS:
            word = _FINGER_WORDS[finger]
            parent = f"{side}Hand"
            phalanges = _GODOT_PHALANGES.get(finger, _UNITY_PHALANGES) if godot else _UNITY_PHALANGES
            for joint, phalanx in zip(finger_chain(side, finger)[:3], phalanges, strict=True):  # not the tip
                bone = f"{side}{word}{phalanx}" if godot else f"{side} {word} {phalanx}"
                parents[bone] = parent
                joints[joint] = bone
                parent = bone
    return parents, joints


# Our (Mixamo-style) humanoid joint names -> the bone names both profiles share
MIXAMO_TO_HUMANOID: dict[str, str] = {
    "Hips": "Hips",
    "Spine": "Spine",
    "Spine1": "Chest",
    "Spine2": "UpperChest",
    "Neck": "Neck",
    "Head": "Head",
    **{
        f"{side}{mixamo}": f"{side}{bone}"
        for side in SIDES
        for mixamo, bone in (
            ("Shoulder", "Shoulder"),
            ("Arm", "UpperArm"),
            ("ForeArm", "LowerArm"),
            ("Hand", "Hand"),
            ("UpLeg", "UpperLeg"),
            ("Leg", "LowerLeg"),
            ("Foot", "Foot"),
            ("ToeBase", "Toes"),
        )
    },
}

_UNITY_FINGERS, _UNITY_FINGER_JOINTS = _finger_bones(godot=False)
_GODOT_FINGERS, _GODOT_FINGER_JOINTS = _finger_bones(godot=True)

# Unity: the Avatar Mapping tab (https://docs.unity3d.com/Manual/ConfiguringtheAvatar.html) marks
# the required bones; HumanTrait.RequiredBone and HumanTrait.GetParentBone
# (https://docs.unity3d.com/ScriptReference/HumanTrait.html) give the same set and the parents.
UNITY_HUMANOID = BoneProfile(
    key="unity_humanoid",
    title="Unity Humanoid avatar",
    docs="https://docs.unity3d.com/Manual/ConfiguringtheAvatar.html",
    parents={"Hips": None, **_SPINE, **_limbs("UpperChest"), **_UNITY_FINGERS},
    required=frozenset(
        {"Hips", "Spine", "Head", *(f"{side}{bone}" for side in SIDES for bone in _REQUIRED_LIMB_BONES)}
    ),
    joint_bones={**MIXAMO_TO_HUMANOID, **_UNITY_FINGER_JOINTS},
)

# Godot 4: https://docs.godotengine.org/en/stable/classes/class_skeletonprofilehumanoid.html shows
# the tree; the `require` flags are set in scene/resources/skeleton_profile.cpp
# (SkeletonProfileHumanoid's constructor): Hips, Spine, Head, shoulders, arms, hands and legs.
# Root is the profile's optional root bone (our rig's root is Hips).
GODOT_HUMANOID = BoneProfile(
    key="godot_humanoid",
    title="Godot SkeletonProfileHumanoid",
    docs="https://docs.godotengine.org/en/stable/classes/class_skeletonprofilehumanoid.html",
    parents={"Root": None, "Hips": "Root", **_SPINE, **_limbs("UpperChest"), **_GODOT_FINGERS},
    required=frozenset(
        {
            "Hips",
            "Spine",
            "Head",
            *(f"{side}{bone}" for side in SIDES for bone in ("Shoulder", *_REQUIRED_LIMB_BONES)),
        }
    ),
    joint_bones={**MIXAMO_TO_HUMANOID, **_GODOT_FINGER_JOINTS},
)

PROFILES = {profile.key: profile for profile in (UNITY_HUMANOID, GODOT_HUMANOID)}


def bone_map(skeleton: Skeleton, profile: BoneProfile, *, prefix: str = "") -> dict[str, str]:
    """Profile bone -> joint name, for the joints named `prefix` + a Mixamo or a profile bone name."""
    mapped: dict[str, str] = {}
    for name in skeleton.names:
        if not name.startswith(prefix):
            continue
        bone = profile.bone_of(name[len(prefix) :])
        if bone is not None and bone not in mapped:
            mapped[bone] = name
    return mapped


def bone_map_problems(skeleton: Skeleton, profile: BoneProfile, mapped: Mapping[str, str]) -> list[str]:
    """Every required bone left unmapped, and every mapped bone whose nearest mapped ancestor in the
    skeleton is not the bone the profile puts above it (empty: the map is sound)."""
    problems = [f"required bone {bone} is not mapped" for bone in sorted(profile.required - set(mapped))]
    bone_of = {joint: bone for bone, joint in mapped.items()}
    index = {name: j for j, name in enumerate(skeleton.names)}
    for bone, joint in mapped.items():
        expected = profile.mapped_parent(bone, mapped)
        parent = int(skeleton.parents[index[joint]])
        while parent >= 0 and skeleton.names[parent] not in bone_of:
            parent = int(skeleton.parents[parent])
        actual = bone_of[skeleton.names[parent]] if parent >= 0 else None
        if actual != expected:
            problems.append(
                f"{bone} (joint {joint!r}) sits under {actual or 'no mapped bone'}, "
                f"the profile puts it under {expected or 'no mapped bone'}"
            )
    return problems


def checked_bone_map(skeleton: Skeleton, profile: BoneProfile, *, prefix: str = "") -> dict[str, str]:
    """bone_map, or BoneMapError listing what keeps the skeleton from mapping to the profile."""
    mapped = bone_map(skeleton, profile, prefix=prefix)
    problems = bone_map_problems(skeleton, profile, mapped)
    if problems:
        raise BoneMapError(profile, problems)
    return mapped
