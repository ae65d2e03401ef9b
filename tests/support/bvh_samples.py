"""Hand-written BVH motions for anim tests: a small humanoid walking, and corrupt variants.

The skeleton is in centimetres, +Y up, facing +Z, in a T-pose (arms along +-X), like the
files Mixamo and the CMU conversions write; the motion swings the legs and lowers the arms.
"""

from __future__ import annotations

import math

Offset = tuple[int, int, int]

CMU_NAMES = {
    "Hips": "hip", "Spine": "lowerback", "Spine1": "upperback", "Spine2": "thorax", "Neck": "lowerneck",
    "Head": "head", "LeftShoulder": "lclavicle", "LeftArm": "lhumerus", "LeftForeArm": "lradius",
    "LeftHand": "lwrist", "RightShoulder": "rclavicle", "RightArm": "rhumerus", "RightForeArm": "rradius",
    "RightHand": "rwrist", "LeftUpLeg": "lfemur", "LeftLeg": "ltibia", "LeftFoot": "lfoot",
    "LeftToeBase": "ltoes", "RightUpLeg": "rfemur", "RightLeg": "rtibia", "RightFoot": "rfoot",
    "RightToeBase": "rtoes",
}  # fmt: skip
MIXAMO_NAMES = {name: f"mixamorig:{name}" for name in CMU_NAMES}
OPAQUE_NAMES = {name: f"joint{i}" for i, name in enumerate(MIXAMO_NAMES)}  # only the structure to go by

# (joint, parent, offset in cm, End Site offset or None)
_HIERARCHY = [
    ("Hips", None, (0, 90, 0), None),
    ("Spine", "Hips", (0, 10, 0), None),
    ("Spine1", "Spine", (0, 12, 0), None),
    ("Spine2", "Spine1", (0, 12, 0), None),
    ("Neck", "Spine2", (0, 15, 0), None),
    ("Head", "Neck", (0, 10, 0), (0, 18, 0)),
    *[
        row
        for sign, side in ((1, "Left"), (-1, "Right"))
        for row in (
            (f"{side}Shoulder", "Spine2", (sign * 5, 12, 0), None),
            (f"{side}Arm", f"{side}Shoulder", (sign * 12, 0, 0), None),
            (f"{side}ForeArm", f"{side}Arm", (sign * 28, 0, 0), None),
            (f"{side}Hand", f"{side}ForeArm", (sign * 25, 0, 0), (sign * 15, 0, 0)),
        )
    ],
    *[
        row
        for sign, side in ((1, "Left"), (-1, "Right"))
        for row in (
            (f"{side}UpLeg", "Hips", (sign * 9, -5, 0), None),
            (f"{side}Leg", f"{side}UpLeg", (0, -40, 0), None),
            (f"{side}Foot", f"{side}Leg", (0, -37, 0), None),
            (f"{side}ToeBase", f"{side}Foot", (0, -6, 12), (0, -2, 6)),
        )
    ],
]


def _rotations(name: str, t: float) -> tuple[float, float, float]:
    """(Z, X, Y) degrees of a joint at time t: a walk cycle of one second."""
    swing = 25.0 * math.sin(2 * math.pi * t)
    if name == "LeftUpLeg":
        return 0.0, -swing, 0.0
    if name == "RightUpLeg":
        return 0.0, swing, 0.0
    if name in ("LeftLeg", "RightLeg"):
        sign = 1.0 if name.startswith("Left") else -1.0
        return 0.0, 20.0 * (1.0 - math.cos(2 * math.pi * t + (0 if sign > 0 else math.pi))), 0.0
    if name == "LeftArm":
        return -75.0, 0.6 * swing, 0.0
    if name == "RightArm":
        return 75.0, -0.6 * swing, 0.0
    return 0.0, 0.0, 0.0


def walking_bvh(names: dict[str, str] | None = None, frames: int = 31, fps: float = 30.0) -> bytes:
    """A one-second walk as BVH text, joints renamed by `names` (default: Mixamo's)."""
    names = names or MIXAMO_NAMES
    children: dict[str | None, list[tuple[str, Offset, Offset | None]]] = {}
    for joint, parent, offset, end in _HIERARCHY:
        children.setdefault(parent, []).append((joint, offset, end))
    lines = ["HIERARCHY"]

    def write(joint: str, offset: Offset, end: Offset | None, depth: int) -> None:
        pad = "  " * depth
        keyword = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{pad}{keyword} {names[joint]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]:.2f} {offset[1]:.2f} {offset[2]:.2f}")
        channels = "6 Xposition Yposition Zposition" if depth == 0 else "3"
        lines.append(f"{pad}  CHANNELS {channels} Zrotation Xrotation Yrotation")
        for child, child_offset, child_end in children.get(joint, []):
            write(child, child_offset, child_end, depth + 1)
        if end is not None:
            lines.extend(
                [
                    f"{pad}  End Site",
                    f"{pad}  {{",
                    f"{pad}    OFFSET {end[0]} {end[1]} {end[2]}",
                    f"{pad}  }}",
                ]
            )
        lines.append(f"{pad}}}")

    root, root_offset, root_end = children[None][0]
    write(root, root_offset, root_end, 0)
    order = _depth_first(children, root)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.6f}"]
    for frame in range(frames):
        t = frame / fps
        values = [0.0, 90.0 + 2.0 * math.sin(4 * math.pi * t), 120.0 * t]
        for joint in order:
            values += _rotations(joint, t)
        lines.append(" ".join(f"{value:.4f}" for value in values))
    return ("\n".join(lines) + "\n").encode()


def _depth_first(children: dict[str | None, list[tuple[str, Offset, Offset | None]]], root: str) -> list[str]:
    """Joint names in the order their channels appear in a frame line."""
    order = [root]
    for child, _, _ in children.get(root, []):
        order += _depth_first(children, child)
    return order


def corrupt_variants() -> dict[str, tuple[bytes, str]]:
    """name -> (BVH bytes, a fragment the CORRUPT_BVH message must contain)."""
    good = walking_bvh().decode()
    lines = good.splitlines()
    motion = lines.index("MOTION")
    first_frame = motion + 3  # zero-based index of the first frame line
    short_frame = [*lines]
    short_frame[first_frame + 2] = " ".join(short_frame[first_frame + 2].split()[:-1])
    not_number = [*lines]
    fields = not_number[first_frame + 4].split()
    fields[7] = "abc"
    not_number[first_frame + 4] = " ".join(fields)
    bad_channels = good.replace(
        "CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Zrotation Xrotation Yrotation", 1
    )
    return {
        "truncated": ("\n".join(lines[: first_frame + 10]).encode(), "truncated"),
        "truncated_hierarchy": ("\n".join(lines[:20]).encode(), "truncated"),
        "short_frame": ("\n".join(short_frame).encode(), f"line {first_frame + 3}"),
        "not_a_number": ("\n".join(not_number).encode(), "'abc' is not a number"),
        "no_hierarchy": ("\n".join(lines[1:]).encode(), "HIERARCHY"),
        "channel_count": (bad_channels.encode(), "declares 4 channels"),
        "binary": (b"\xff\xfe\x00garbage", "not text"),
        "blank": (b"  \n\n", "HIERARCHY"),
    }
