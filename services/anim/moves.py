"""Whole-body moves both skeleton kinds share: turning on the spot by steps, and toppling over.

A turn yaws the body about a vertical axis through `pivot` while each foot, in its own time
window, lifts and steps round to its new heading; outside its window a foot stays planted
where it is (locked by the leg IK). Toppling turns the whole posed figure rigidly about a
point on the ground, so a death fall keeps the pose it collapsed into.
"""

from __future__ import annotations

import numpy as np

from services.anim import quaternions as quat
from services.anim.body import Body
from services.anim.gait import FootTrack, smoothstep
from services.anim.pose import Poser
from services.anim.quaternions import Floats

LIFT_SHARE = 0.2  # share of a step at each end in which the foot only rises or sets down


def turn_in_steps(
    poser: Poser,
    body: Body,
    u: Floats,
    body_yaw: Floats,
    windows: dict[str, tuple[float, float]],
    pivot: Floats,
    lift: float,
) -> dict[str, FootTrack]:
    """Yaw the root about the vertical through `pivot` (x, z) by `body_yaw` per frame; the foot
    tracks, each foot stepping to the final heading during its (start, end) window of u."""
    final = float(body_yaw[-1])
    centre = np.array([pivot[0], 0.0, pivot[1]])
    root = poser.rest(poser.skeleton.names[0])
    flat = (root - centre) * np.array([1.0, 0.0, 1.0])
    poser.root_offset[:, [0, 2]] += (quat.rotate(quat.about_y(body_yaw), flat) - flat)[:, [0, 2]]
    tracks = {}
    for name, leg in body.legs.items():
        start, end = windows[name]
        s = np.clip((u - start) / (end - start), 0.0, 1.0)
        yaw = final * smoothstep((s - LIFT_SHARE) / (1.0 - 2.0 * LIFT_SHARE))  # over the ground only when up
        ankle = centre + quat.rotate(quat.about_y(yaw), poser.rest(leg.foot) - centre)
        ankle[:, 1] += lift * 16.0 * s**2 * (1.0 - s) ** 2
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
