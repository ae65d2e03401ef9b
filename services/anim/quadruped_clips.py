"""The quadruped clip library (idle, walk, run), generated for the fitted skeleton.

Lengths are in hind-leg lengths and durations scale with its square root. The walk is a
lateral-sequence four-beat gait (hind left, fore left, hind right, fore right); the run a
transverse gallop with a suspension phase and a flexing spine. The tail trails the body's
motion with a lag; the head counters the body's bob.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Clip
from services.anim import quaternions as quat
from services.anim.body import Body
from services.anim.gait import Gait, foot_track, timeline
from services.anim.limbs import chain, drop_to_reach, plant_legs, standing
from services.anim.pose import Poser
from services.anim.quaternions import Floats

SPINE = ("Spine", "Spine1", "Spine2")
NECK = ("Neck", "Head")
TAU = 2.0 * math.pi


@dataclass(frozen=True)
class _Locomotion:
    gait: Gait  # stride and lift in leg lengths, cycle in seconds for 0.5 m legs
    phases: dict[str, float]  # when each foot touches down, as a share of the cycle
    bob: float  # body up-and-down, leg lengths, once per footfall pair
    flex: float  # radians the back arches and stretches once per cycle
    sway: float  # radians the spine yaws once per cycle
    tail: float  # radians of tail swing


WALK = _Locomotion(
    gait=Gait(cycle_s=0.9, stride=1.3, duty=0.65, lift=0.12, heel_roll=math.radians(12)),
    phases={"HindLeft": 0.0, "FrontLeft": 0.25, "HindRight": 0.5, "FrontRight": 0.75},
    bob=0.015,
    flex=math.radians(2),
    sway=math.radians(4),
    tail=math.radians(12),
)
RUN = _Locomotion(
    gait=Gait(cycle_s=0.45, stride=2.8, duty=0.3, lift=0.25, heel_roll=math.radians(20)),
    phases={"HindLeft": 0.0, "HindRight": 0.1, "FrontLeft": 0.45, "FrontRight": 0.55},
    bob=0.05,
    flex=math.radians(10),
    sway=math.radians(2),
    tail=math.radians(8),
)


def _locomotion(name: str, style: _Locomotion, body: Body, fps: float, in_place: bool) -> Clip:
    legs = body.leg_length
    units = style.gait
    line = timeline(units.cycle_s * body.time_scale, fps)
    gait = Gait(line.duration, units.stride * legs, units.duty, units.lift * legs, units.heel_roll)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    travel = np.zeros(line.frames) if in_place else gait.stride * phase
    poser.root_offset[:, 1] = style.bob * legs * 0.5 * (np.cos(2 * TAU * phase) - 1.0)
    poser.root_offset[:, 2] = travel
    tracks = {
        leg_name: foot_track(gait, phase - style.phases[leg_name], poser.rest(leg.foot), leg.pivot)
        for leg_name, leg in body.legs.items()
    }
    poser.root_offset[:, 1] -= drop_to_reach(poser, body, tracks, travel)
    arch = style.flex * np.sin(TAU * phase)
    yaw = style.sway * np.sin(TAU * phase)
    hips = quat.multiply(quat.about_y(yaw), quat.about_x(arch))
    chest = quat.multiply(quat.about_y(-yaw), quat.about_x(-arch))
    head = quat.about_x(0.5 * arch)
    _body(poser, body, hips=hips, chest=chest, head=head, tail_swing=style.tail * np.sin(TAU * phase - 1.0))
    plant_legs(poser, body, tracks, travel)
    return poser.to_clip(name, fps, loop=True)


def _body(poser: Poser, body: Body, *, hips: Floats, chest: Floats, head: Floats, tail_swing: Floats) -> None:
    """Spine from the hips' to the chest's rotation, neck and head to `head`, the tail swinging."""
    poser.set("Hips", hips)
    chain(poser, SPINE, hips, chest)
    chain(poser, NECK, chest, head)
    if body.tail:
        tip = quat.multiply(quat.about_y(tail_swing), hips)
        chain(poser, body.tail, hips, tip)


def walk(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("walk", WALK, body, fps, in_place)


def run(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("run", RUN, body, fps, in_place)


def idle(body: Body, fps: float, in_place: bool) -> Clip:
    """Standing: breathing, looking around, the tail wagging."""
    legs = body.leg_length
    line = timeline(3.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 1] = -0.02 * legs + 0.004 * legs * np.sin(2 * TAU * phase)
    breath = 0.015 * np.sin(2 * TAU * phase)
    head = quat.multiply(
        quat.about_y(0.3 * np.sin(TAU * phase)), quat.about_x(0.08 * np.sin(2 * TAU * phase))
    )
    wag = 0.35 * np.sin(4 * TAU * phase)
    _body(poser, body, hips=quat.about_x(breath), chest=quat.about_x(-breath), head=head, tail_swing=wag)
    plant_legs(
        poser, body, {name: standing(leg, poser) for name, leg in body.legs.items()}, np.zeros(line.frames)
    )
    return poser.to_clip("idle", fps, loop=True)


QUADRUPED_BUILDERS: dict[str, Callable[[Body, float, bool], Clip]] = {"idle": idle, "walk": walk, "run": run}
