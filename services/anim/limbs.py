"""Driving limbs in a Poser: legs by two-bone IK onto foot tracks, arms and chains by aiming."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from services.anim import quaternions as quat
from services.anim.body import FORWARD, Body, Leg
from services.anim.gait import FootTrack, keyed
from services.anim.pose import Poser, two_bone_ik
from services.anim.quaternions import Floats

REACH_MARGIN = 0.985  # keep IK targets inside this share of a leg's full reach


def standing(leg: Leg, poser: Poser) -> FootTrack:
    """A foot planted at its rest place for the whole clip."""
    ankle = np.broadcast_to(poser.rest(leg.foot), (poser.frames, 3)).copy()
    zeros = np.zeros(poser.frames)
    return FootTrack(ankle=ankle, pitch=zeros, toe_pitch=zeros)


def leg_reach(poser: Poser, leg: Leg) -> float:
    upper = np.linalg.norm(poser.rest(leg.lower) - poser.rest(leg.upper))
    lower = np.linalg.norm(poser.rest(leg.foot) - poser.rest(leg.lower))
    return float(upper + lower)


def drop_to_reach(
    poser: Poser, body: Body, tracks: dict[str, FootTrack], travel: Floats, heading: Floats = FORWARD
) -> float:
    """How far the root must sink (metres, >= 0) so every foot target stays within reach.

    Estimated with the hips translated by the root offset (not rotated): rotations are small.
    """
    drop = 0.0
    for name, leg in body.legs.items():
        hip = poser.rest(leg.upper) + poser.root_offset
        target = tracks[name].ankle + travel[:, None] * heading
        lowest = _lowest_reachable(hip, target, REACH_MARGIN * leg_reach(poser, leg))
        drop = max(drop, float(np.max(lowest - target[:, 1])))
    return max(drop, 0.0)


def reach_planted(
    poser: Poser, body: Body, tracks: dict[str, FootTrack], travel: Floats
) -> dict[str, FootTrack]:
    """Sink the root until every planted foot target is within reach of its hip as posed (set the
    spine first: a flexing back carries the shoulders up and down), then raise each swinging
    foot the leg cannot reach until it can, so a swing lifts higher instead of the leg falling
    short of its target (which would drag a foot near the ground)."""
    heads = poser.positions()
    hips = {name: heads[:, poser.index(leg.upper)] for name, leg in body.legs.items()}
    targets = {name: tracks[name].ankle + travel[:, None] * FORWARD for name in body.legs}
    reaches = {name: REACH_MARGIN * leg_reach(poser, leg) for name, leg in body.legs.items()}
    drop = 0.0
    for name in body.legs:
        planted = _planted(tracks[name], poser.frames)
        lowest = _lowest_reachable(hips[name][planted], targets[name][planted], reaches[name])
        drop = max(drop, float(np.max(lowest - targets[name][planted, 1], initial=0.0)))
    poser.root_offset[:, 1] -= drop
    lifted = {}
    for name in body.legs:
        track, target = tracks[name], targets[name]
        lowest = _lowest_reachable(hips[name] - [0.0, drop, 0.0], target, reaches[name])
        ankle = track.ankle.copy()
        ankle[:, 1] += np.where(_planted(track, poser.frames), 0.0, np.maximum(lowest - target[:, 1], 0.0))
        lifted[name] = replace(track, ankle=ankle)
    return lifted


def _planted(track: FootTrack, frames: int) -> npt.NDArray[np.bool_]:
    return np.ones(frames, dtype=bool) if track.planted is None else track.planted


def _lowest_reachable(hip: Floats, target: Floats, reach: float) -> Floats:
    """Per frame, the lowest height a leg of `reach` from `hip` reaches above the target's ground spot."""
    horizontal2 = np.sum((target - hip)[:, [0, 2]] ** 2, axis=1)
    lowest: Floats = hip[:, 1] - np.sqrt(np.maximum(reach**2 - horizontal2, 0.0))
    return lowest


def plant_legs(
    poser: Poser, body: Body, tracks: dict[str, FootTrack], travel: Floats, heading: Floats = FORWARD
) -> None:
    """Set every leg's rotations by two-bone IK so its ankle follows its track (plus the root's
    travel along `heading`): a planted foot stays where it is in the world (foot locking)."""
    heads = poser.positions()  # a leg's hip does not move with the other legs: posed once
    for name, leg in body.legs.items():
        track = tracks[name]
        hip = heads[:, poser.index(leg.upper)]
        target = track.ankle + travel[:, None] * heading
        upper = poser.rest(leg.lower) - poser.rest(leg.upper)
        lower = poser.rest(leg.foot) - poser.rest(leg.lower)
        yaw = quat.about_y(np.broadcast_to(track.yaw, (poser.frames,)))
        pole = quat.rotate(yaw, leg.pole)
        upper_rotation, lower_rotation = two_bone_ik(hip, target, upper, lower, pole)
        poser.set(leg.upper, upper_rotation)
        poser.set(leg.lower, lower_rotation)
        poser.set(leg.foot, quat.multiply(yaw, quat.about_x(track.pitch)))
        if leg.toe is not None and poser.has(leg.toe):
            poser.set(leg.toe, quat.multiply(yaw, quat.about_x(track.toe_pitch)))


def aim(poser: Poser, joint: str, direction: Floats) -> None:
    """Point a bone (head -> tail) along a world direction: (3,) or (frames, 3)."""
    rest = poser.rest_tail(joint) - poser.rest(joint)
    poser.set(joint, quat.between(rest, np.broadcast_to(direction, (poser.frames, 3))))


def keyed_direction(u: Floats, keys: list[tuple[float, tuple[float, float, float]]]) -> Floats:
    """Directions eased between (time, vector) keys over normalised time u, unit length."""
    columns = [keyed(u, [(t, vector[axis]) for t, vector in keys]) for axis in range(3)]
    directions = np.stack(columns, axis=-1)
    unit: Floats = directions / np.maximum(np.linalg.norm(directions, axis=-1, keepdims=True), 1e-12)
    return unit


def hang_arms(
    poser: Poser,
    body: Body,
    swing: dict[str, Floats | float],
    flex: dict[str, Floats | float],
    yaw: Floats | float = 0.0,
) -> None:
    """The arms of the sides in `swing` ("Left", "Right") hanging beside the body, swung forward by
    `swing` (radians) with elbows bent by `flex`, the whole turned by `yaw` about +Y."""
    heading = quat.about_y(np.broadcast_to(yaw, (poser.frames,)))
    for side, forward_swing in swing.items():
        sign = 1.0 if side == "Left" else -1.0
        angle = math.radians(body.hang_degrees[side])
        down = np.array([sign * math.sin(angle), -math.cos(angle), 0.0])
        for joint, bend in ((f"{side}Arm", 0.0), (f"{side}ForeArm", flex[side])):
            rest = poser.rest_tail(joint) - poser.rest(joint)
            forward = quat.about_x(-(np.asarray(forward_swing) + bend))
            poser.set(joint, quat.multiply(heading, quat.multiply(forward, quat.between(rest, down))))


def chain(poser: Poser, joints: tuple[str, ...], start: Floats, end: Floats) -> None:
    """Spread a rotation along a chain: world rotations slerped from `start` to `end`."""
    for index, joint in enumerate(joints):
        if poser.has(joint):
            t = (index + 1) / len(joints)
            poser.set(joint, quat.slerp(start, end, t))
