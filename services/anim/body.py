"""What the clip generators need to know about an asset: its limbs and proportions.

Everything is measured from the fitted skeleton (and, for how far the arms must hang out
to clear the hips, from the mesh), so gaits scale with the character.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Model, Skeleton
from assetcore.geometry.skeleton import QUADRUPED_LEGS, SIDES, SkeletonKind, joint_index, leg_length
from services.anim.quaternions import Floats

FORWARD = np.array([0.0, 0.0, 1.0])
MIN_HANG_DEGREES, MAX_HANG_DEGREES = 6.0, 40.0
MIN_DEPTH, MAX_DEPTH = 0.3, 1.15  # shares of the arm's reach below the shoulder the torso counts in
ARM_SHARE = 95.0  # percentile of the forearm's and hand's distances from the arm's line: how thick it stands
MAX_ARM_RADIUS = 0.35  # ... at most this share of the arm's reach
TRUNK = ("Hips", "Spine", "Spine1", "Spine2", "LeftUpLeg", "RightUpLeg")


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
    hang_degrees: dict[str, float]  # per side, how far from vertical the arm hangs to clear the body
    tail: tuple[str, ...]  # tail joints from the base (quadrupeds)
    # per side, how far the skin the hand carries reaches from the wrist: a bare hand's length, or
    # a held staff's; one-handed gestures use the hand that holds the shorter thing
    hand_reach: dict[str, float] = field(default_factory=dict)

    @property
    def free_hand(self) -> str:
        """The side ("Left"/"Right") whose hand holds the shorter thing; Right when equal."""
        right, left = self.hand_reach.get("Right", 0.0), self.hand_reach.get("Left", 0.0)
        return "Left" if left < right else "Right"

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
        return Body(
            kind, skeleton, leg_length(skeleton), legs, _hang_degrees(model, skeleton), (), _hand_reach(model)
        )
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
    return Body(kind, skeleton, leg_length(skeleton), legs, {}, tail)


def _hand_reach(model: Model) -> dict[str, float]:
    skeleton, skin = model.skeleton, model.skin
    if skeleton is None or skin is None:
        return {}
    vertices = model.mesh.positions.astype(np.float64)
    main = skin.joints[np.arange(len(vertices)), np.argmax(skin.weights, axis=1)]
    reach = {}
    for side in SIDES:
        hand = joint_index(skeleton, f"{side}Hand")
        carried = vertices[main == hand]
        wrist = skeleton.heads[hand].astype(np.float64)
        reach[side] = float(np.linalg.norm(carried - wrist, axis=1).max()) if len(carried) else 0.0
    return reach


def _hang_degrees(model: Model, skeleton: Skeleton) -> dict[str, float]:
    """Per side, the angle from vertical at which a straight hanging arm clears the torso, hips
    and thighs: the surface the skin gives to those joints between the shoulder and the hand's
    reach, each point needing the arm, as thick as its forearm and hand with what they hold (a
    shield), to pass outside it at its depth below the shoulder."""
    vertices = model.mesh.positions.astype(np.float64)
    faces = model.mesh.faces.astype(np.int64)
    main = None
    if model.skin is not None:
        main = model.skin.joints[np.arange(len(vertices)), np.argmax(model.skin.weights, axis=1)]
        trunk = np.isin(main, [joint_index(skeleton, name) for name in TRUNK if name in skeleton.names])
        faces = faces[trunk[faces].all(axis=1)]
    positions = _surface_samples(vertices, faces)
    centre = float(skeleton.heads[0, 0])
    hang = {}
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        shoulder = skeleton.heads[joint_index(skeleton, f"{side}Arm")].astype(np.float64)
        hand_tip = skeleton.tails[joint_index(skeleton, f"{side}Hand")].astype(np.float64)
        hip = skeleton.heads[joint_index(skeleton, f"{side}UpLeg")].astype(np.float64)
        reach = float(np.linalg.norm(hand_tip - shoulder))
        depth = shoulder[1] - positions[:, 1]
        band = (
            (depth > MIN_DEPTH * reach)
            & (depth < MAX_DEPTH * reach)
            & (sign * (positions[:, 0] - centre) > 0)
        )
        clearance = 0.15 * max(abs(hip[0] - centre), 1e-3)
        if main is None:
            band &= np.abs(positions[:, 1] - hip[1]) < 0.1 * max(hip[1], 1e-6)
        else:
            forearm = np.isin(main, [joint_index(skeleton, f"{side}{part}") for part in ("ForeArm", "Hand")])
            clearance += _arm_radius(vertices[forearm], shoulder, hand_tip)
        if band.any():
            outside = np.abs(positions[band, 0] - centre) + clearance - abs(shoulder[0] - centre)
            radians = float(np.max(np.arctan2(outside, depth[band])))
        else:
            radians = math.asin(float(np.clip(clearance / max(reach, 1e-6), -1.0, 1.0)))
        hang[side] = float(np.clip(math.degrees(radians), MIN_HANG_DEGREES, MAX_HANG_DEGREES))
    return hang


def _surface_samples(vertices: Floats, faces: npt.NDArray[np.int64]) -> Floats:
    """Points spread over the faces (corners, edge midpoints, centre): a coarse mesh's long
    triangles span heights where it has no vertex."""
    if len(faces) == 0:
        return vertices
    corners = vertices[faces]  # (F, 3, 3)
    weights = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], float)
    weights /= weights.sum(axis=1, keepdims=True)
    samples: Floats = np.einsum("sk,fkd->fsd", weights, corners).reshape(-1, 3)
    return samples


def _arm_radius(vertices: Floats, shoulder: Floats, tip: Floats) -> float:
    """How far the forearm and hand (and what they hold) stand off the shoulder-to-fingertip line:
    a robust percentile, capped."""
    if len(vertices) == 0:
        return 0.0
    reach = max(float(np.linalg.norm(tip - shoulder)), 1e-9)
    axis = (tip - shoulder) / reach
    offsets = vertices - shoulder
    radial = np.linalg.norm(offsets - np.outer(offsets @ axis, axis), axis=1)
    return min(float(np.percentile(radial, ARM_SHARE)), MAX_ARM_RADIUS * reach)
