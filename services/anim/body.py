"""What the clip generators need to know about an asset: its limbs and proportions.

Everything is measured from the fitted skeleton (and, for how far the arms must hang out
to clear the hips, from the mesh), so gaits scale with the character.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Model, Skeleton
from assetcore.geometry.skeleton import QUADRUPED_LEGS, SIDES, SkeletonKind, joint_index, leg_length
from services.anim.quaternions import Floats

FORWARD = np.array([0.0, 0.0, 1.0])
MIN_HANG_DEGREES, MAX_HANG_DEGREES = 6.0, 40.0


@dataclass(frozen=True)
class Leg:
    """A leg as the gait code drives it: two IK bones, a foot rolling over a ground pivot."""

    upper: str
    lower: str
    foot: str
    toe: str | None  # a toe joint kept flat while the heel rises (humanoids)
    pivot: Floats  # rest position of the point the foot rolls over (ball or toe tip)
    pole: Floats  # world direction the middle joint bends towards


@dataclass(frozen=True)
class Body:
    kind: SkeletonKind
    skeleton: Skeleton
    leg_length: float  # hip height: the unit gaits are scaled by
    legs: dict[str, Leg]  # "Left"/"Right" or "FrontLeft"/.../"HindRight"
    hang_degrees: float  # how far from vertical the arms hang to clear the hips (humanoids)
    tail: tuple[str, ...]  # tail joints from the base (quadrupeds)

    @property
    def time_scale(self) -> float:
        """Gait durations scale with sqrt(leg length) (dynamic similarity), relative to 0.9 m legs."""
        reference = 0.9 if self.kind == "humanoid" else 0.5
        return math.sqrt(self.leg_length / reference)


def measure_body(model: Model, kind: SkeletonKind) -> Body:
    skeleton = model.skeleton
    assert skeleton is not None
    heads = skeleton.heads.astype(np.float64)

    def head(name: str) -> Floats:
        position: Floats = heads[joint_index(skeleton, name)]
        return position

    if kind == "humanoid":
        legs = {
            side: Leg(
                f"{side}UpLeg", f"{side}Leg", f"{side}Foot", f"{side}ToeBase", head(f"{side}ToeBase"), FORWARD
            )
            for side in SIDES
        }
        return Body(kind, skeleton, leg_length(skeleton), legs, _hang_degrees(model, skeleton), ())
    legs = {}
    for name in QUADRUPED_LEGS:
        foot = joint_index(skeleton, f"{name}Foot")
        pole = FORWARD if name.startswith("Front") else -FORWARD
        legs[name] = Leg(
            f"{name}UpperLeg",
            f"{name}LowerLeg",
            f"{name}Foot",
            None,
            skeleton.tails[foot].astype(np.float64),
            pole,
        )
    tail = tuple(name for name in skeleton.names if name.startswith("Tail"))
    return Body(kind, skeleton, leg_length(skeleton), legs, 0.0, tail)


def _hang_degrees(model: Model, skeleton: Skeleton) -> float:
    """Angle from vertical at which a hanging arm's hand clears the widest part of the hips (the
    vertices around hip height that the skin gives to the pelvis and thighs, not a held shield)."""
    shoulder = skeleton.heads[joint_index(skeleton, "LeftArm")].astype(np.float64)
    hand_tip = skeleton.tails[joint_index(skeleton, "LeftHand")].astype(np.float64)
    hip = skeleton.heads[joint_index(skeleton, "LeftUpLeg")].astype(np.float64)
    reach = float(np.linalg.norm(hand_tip - shoulder))
    positions = model.mesh.positions.astype(np.float64)
    centre = float(skeleton.heads[0, 0])
    band = np.abs(positions[:, 1] - hip[1]) < 0.1 * max(hip[1], 1e-6)
    if model.skin is not None:
        pelvis = [joint_index(skeleton, name) for name in ("Hips", "Spine", "LeftUpLeg", "RightUpLeg")]
        main = model.skin.joints[np.arange(len(positions)), np.argmax(model.skin.weights, axis=1)]
        band &= np.isin(main, pelvis)
    hip_half_width = (
        float(np.max(np.abs(positions[band, 0] - centre))) if band.any() else abs(hip[0] - centre)
    )
    clearance = 0.15 * max(abs(hip[0] - centre), 1e-3)
    sine = (hip_half_width + clearance - abs(shoulder[0] - centre)) / max(reach, 1e-6)
    degrees = math.degrees(math.asin(float(np.clip(sine, -1.0, 1.0))))
    return float(np.clip(degrees, MIN_HANG_DEGREES, MAX_HANG_DEGREES))
