"""Whole-body moves both skeleton kinds share: turning on the spot by steps, and toppling over.

A turn yaws the body about a vertical axis through `pivot` while each foot, in its own time
windows, lifts and steps round after it; outside its windows a foot stays planted where it is
(locked by the leg IK). A foot with several windows turns in as many steps, each to the body's
heading at the step's end (the last to the final heading), so a big turn never twists the pelvis
far from a planted foot; twist_legs turns each leg with its foot, so the twist between pelvis and
foot is what the hip joint bends. Toppling turns the whole posed figure rigidly about a point on
the ground, so a death fall keeps the pose it collapsed into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from services.anim import quaternions as quat
from services.anim.body import Body
from services.anim.gait import FootTrack, smoothstep
from services.anim.pose import Poser
from services.anim.quaternions import Floats

Window = tuple[float, float]
LIFT_SHARE = 0.2  # share of a step at each end in which the foot only rises or sets down


def turn_in_steps(
    poser: Poser,
    body: Body,
    u: Floats,
    body_yaw: Floats,
    windows: Mapping[str, Window | Sequence[Window]],
    pivot: Floats,
    lift: float,
) -> dict[str, FootTrack]:
    """Yaw the root about the vertical through `pivot` (x, z) by `body_yaw` per frame; the foot
    tracks, each foot stepping during its (start, end) windows of u (in order), the last step to
    the final heading."""
    final = float(body_yaw[-1])
    centre = np.array([pivot[0], 0.0, pivot[1]])
    root = poser.rest(poser.skeleton.names[0])
    flat = (root - centre) * np.array([1.0, 0.0, 1.0])
    poser.root_offset[:, [0, 2]] += (quat.rotate(quat.about_y(body_yaw), flat) - flat)[:, [0, 2]]
    tracks = {}
    for name, leg in body.legs.items():
        steps = np.reshape(np.asarray(windows[name], dtype=np.float64), (-1, 2))  # one window or several
        yaw, height, reached = np.zeros(poser.frames), np.zeros(poser.frames), 0.0
        for index, (start, end) in enumerate(steps):
            s = np.clip((u - start) / (end - start), 0.0, 1.0)
            target = final if index == len(steps) - 1 else float(np.interp(end, u, body_yaw))
            yaw += (target - reached) * smoothstep((s - LIFT_SHARE) / (1.0 - 2.0 * LIFT_SHARE))
            height += lift * 16.0 * s**2 * (1.0 - s) ** 2  # over the ground only when up
            reached = target
        ankle = centre + quat.rotate(quat.about_y(yaw), poser.rest(leg.foot) - centre)
        ankle[:, 1] += height
        zeros = np.zeros(poser.frames)
        tracks[name] = FootTrack(ankle=ankle, pitch=zeros, toe_pitch=zeros, yaw=yaw)
    return tracks


def topple(poser: Poser, rotation: Floats, pivot: Floats) -> None:
    """Turn the posed figure rigidly by `rotation` (frames, 4) about the world point `pivot`."""
    poser.resolve()
    poser.world = quat.multiply(rotation[:, None, :], poser.world)
    root = poser.rest(poser.skeleton.names[0])
    position = root + poser.root_offset
    poser.root_offset = pivot + quat.rotate(rotation, position - pivot) - root


def twist_legs(poser: Poser, body: Body, tracks: dict[str, FootTrack]) -> None:
    """Turn each leg's two IK bones with their foot's yaw: each bone's rotation becomes the foot's
    yaw followed by the shortest arc from its yawed rest direction to its posed one. Two-bone IK's
    shortest arcs from the rest direction leave a thigh and shin facing forward whatever the foot
    does, so a turned foot twisted the whole turn into the hip and ankle (the skin between the
    thighs tore with the pelvis 90 degrees round). Feet with no yaw keep their rotations."""
    for name, leg in body.legs.items():
        yaw = quat.about_y(np.broadcast_to(tracks[name].yaw, (poser.frames,)))
        for joint in (leg.upper, leg.lower):
            rest = poser.rest_tail(joint) - poser.rest(joint)
            posed = quat.rotate(poser.get(joint), rest)
            poser.set(joint, quat.multiply(quat.between(quat.rotate(yaw, rest), posed), yaw))
