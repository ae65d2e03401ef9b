"""The quadruped clip library, generated for the fitted skeleton.

Lengths are in hind-leg lengths and durations scale with its square root. The walk is a
lateral-sequence four-beat gait (hind left, fore left, hind right, fore right); the trot moves
diagonal pairs together; the run is a transverse gallop with a suspension phase and a flexing
spine. The tail trails the body's motion with a lag; the head counters the body's bob. Turn,
jump, attack and death are one-shots.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Clip
from services.anim import quaternions as quat
from services.anim.body import Body, Leg
from services.anim.gait import FootTrack, Gait, Timeline, hoof_track, keyed, timeline
from services.anim.limbs import chain, plant_legs, reach_planted, standing
from services.anim.moves import topple, turn_in_steps, twist_legs
from services.anim.pose import Poser
from services.anim.quaternions import Floats

SPINE = ("Spine", "Spine1", "Spine2")
SIDES = ("Left", "Right")
LEG_CLEARANCE = 0.1  # leg lengths kept between the bones of a side's front and hind leg (legs have girth)
MIN_STRIDE_SHARE = 0.4  # the clearance never shortens a stride below this share ...
STRIDE_STEPS = 4  # ... and finds the longest clear stride to 2**-4 of the range
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
TROT = _Locomotion(
    gait=Gait(cycle_s=0.6, stride=1.9, duty=0.5, lift=0.2, heel_roll=math.radians(15)),
    phases={"HindLeft": 0.0, "FrontRight": 0.0, "HindRight": 0.5, "FrontLeft": 0.5},
    bob=0.025,
    flex=math.radians(3),
    sway=math.radians(2),
    tail=math.radians(10),
)
RUN = _Locomotion(
    gait=Gait(cycle_s=0.45, stride=2.8, duty=0.4, lift=0.25, heel_roll=math.radians(20)),
    phases={"HindLeft": 0.0, "HindRight": 0.1, "FrontLeft": 0.45, "FrontRight": 0.55},
    bob=0.05,
    flex=math.radians(10),
    sway=math.radians(2),
    tail=math.radians(8),
)


def _locomotion(name: str, style: _Locomotion, body: Body, fps: float, in_place: bool) -> Clip:
    """The gait cycle at its full stride, or, where a side's front and hind legs would pass closer
    than LEG_CLEARANCE (a short-bodied, long-legged animal), at the longest stride that keeps them
    clear (bisection: the gap shrinks as the stride grows)."""
    line = timeline(style.gait.cycle_s * body.time_scale, fps)
    poser = _pose_locomotion(style, body, line, 1.0, in_place)
    clearance = LEG_CLEARANCE * body.leg_length
    if _side_gap(poser, body) < clearance:
        low, high = MIN_STRIDE_SHARE, 1.0
        poser = _pose_locomotion(style, body, line, low, in_place)
        for _ in range(STRIDE_STEPS):
            middle = 0.5 * (low + high)
            candidate = _pose_locomotion(style, body, line, middle, in_place)
            if _side_gap(candidate, body) >= clearance:
                low, poser = middle, candidate
            else:
                high = middle
    return poser.to_clip(name, fps, loop=True)


def _pose_locomotion(style: _Locomotion, body: Body, line: Timeline, share: float, in_place: bool) -> Poser:
    """One cycle of the gait with `share` of its stride, posed."""
    legs = body.leg_length
    units = style.gait
    gait = Gait(line.duration, share * units.stride * legs, units.duty, units.lift * legs, units.heel_roll)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    travel = np.zeros(line.frames) if in_place else gait.stride * phase
    poser.root_offset[:, 1] = style.bob * legs * 0.5 * (np.cos(2 * TAU * phase) - 1.0)
    poser.root_offset[:, 2] = travel
    arch = style.flex * np.sin(TAU * phase)
    yaw = style.sway * np.sin(TAU * phase)
    hips = quat.multiply(quat.about_y(yaw), quat.about_x(arch))
    chest = quat.multiply(quat.about_y(-yaw), quat.about_x(-arch))
    head = quat.about_x(0.5 * arch)
    _body(poser, body, hips=hips, chest=chest, head=head, tail_swing=style.tail * np.sin(TAU * phase - 1.0))
    tracks = {
        name: hoof_track(gait, phase - style.phases[name], poser.rest(leg.foot), leg.pivot)
        for name, leg in body.legs.items()
    }
    plant_legs(poser, body, reach_planted(poser, body, tracks, travel), travel)
    return poser


def _side_gap(poser: Poser, body: Body) -> float:
    """The least distance, over the clip, between the bones (hip to toe) of a side's front and hind leg."""
    heads = poser.positions()
    t = np.linspace(0.0, 1.0, 6)[:, None, None]
    gap = math.inf
    for side in SIDES:
        front, hind = (_leg_points(poser, heads, body.legs[f"{end}{side}"], t) for end in ("Front", "Hind"))
        distances = np.linalg.norm(front[:, None] - hind[None, :], axis=-1)
        gap = min(gap, float(distances.min()))
    return gap


def _leg_points(poser: Poser, heads: Floats, leg: Leg, t: Floats) -> Floats:
    """Points (3 * len(t), frames, 3) along a leg's three bones, its hip to its toe."""
    joints = [heads[:, poser.index(joint)] for joint in (leg.upper, leg.lower, leg.foot)]
    toe = joints[-1] + quat.rotate(poser.get(leg.foot), leg.pivot - poser.rest(leg.foot))
    ends = [*joints, toe]
    points: Floats = np.concatenate([a + t * (b - a) for a, b in itertools.pairwise(ends)])
    return points


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


def trot(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("trot", TROT, body, fps, in_place)


def _stand(poser: Poser, body: Body) -> None:
    plant_legs(
        poser, body, {name: standing(leg, poser) for name, leg in body.legs.items()}, np.zeros(poser.frames)
    )


def _centre(poser: Poser, body: Body) -> Floats:
    """The middle of the four feet at rest, on the ground plane (x, z)."""
    feet = np.array([poser.rest(leg.foot) for leg in body.legs.values()])
    centre: Floats = feet.mean(axis=0)[[0, 2]]
    return centre


def _turn(name: str, sign: float, body: Body, fps: float) -> Clip:
    """A quarter turn on the spot about the middle of the feet (sign +1: left), the legs stepping
    round one at a time, front legs leading, each twisting with its foot (moves.twist_legs: the
    wolf's turns stretched 2.2x with the legs left facing forward); the head looks into the turn."""
    line = timeline(1.4 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    yaw = sign * (math.pi / 2) * keyed(u, [(0, 0), (0.05, 0), (0.9, 1), (1, 1)])
    near, far = ("Left", "Right") if sign > 0 else ("Right", "Left")
    windows = {
        f"Front{near}": (0.05, 0.35),
        f"Hind{far}": (0.2, 0.5),
        f"Front{far}": (0.4, 0.7),
        f"Hind{near}": (0.55, 0.9),
    }
    poser.root_offset[:, 1] = -0.02 * body.leg_length * np.sin(math.pi * u)
    tracks = turn_in_steps(poser, body, u, yaw, windows, _centre(poser, body), 0.15 * body.leg_length)
    look = sign * 0.4 * np.sin(math.pi * keyed(u, [(0, 0), (0.05, 0), (0.85, 1), (1, 1)]))
    hips = quat.about_y(yaw)
    _body(
        poser,
        body,
        hips=hips,
        chest=quat.about_y(yaw + 0.5 * look),
        head=quat.about_y(yaw + look),
        tail_swing=-0.5 * look,
    )
    plant_legs(poser, body, tracks, np.zeros(line.frames))
    twist_legs(poser, body, tracks)
    return poser.to_clip(name, fps, loop=False)


def turn_left(body: Body, fps: float, in_place: bool) -> Clip:
    return _turn("turn_left", 1.0, body, fps)


def turn_right(body: Body, fps: float, in_place: bool) -> Clip:
    return _turn("turn_right", -1.0, body, fps)


def jump(body: Body, fps: float, in_place: bool) -> Clip:
    """Crouch on the haunches, spring up and forward (forward only with root motion), tuck the legs,
    land front feet first and absorb (one shot)."""
    legs = body.leg_length
    line = timeline(1.3 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    crouch = keyed(u, [(0, 0), (0.08, 0), (0.3, 1), (0.4, 0), (0.72, 0), (0.8, 0.7), (0.92, 0.1), (1, 0)])
    flight = np.clip((u - 0.4) / 0.32, 0.0, 1.0)
    height = 0.5 * legs * 4.0 * flight * (1.0 - flight)
    tuck = keyed(u, [(0, 0), (0.42, 0), (0.5, 1), (0.62, 1), (0.72, 0), (1, 0)])
    travel = (
        np.zeros(line.frames) if in_place else 1.2 * legs * keyed(u, [(0, 0), (0.4, 0), (0.72, 1), (1, 1)])
    )
    poser.root_offset[:, 1] = -0.2 * legs * crouch + height
    poser.root_offset[:, 2] = travel
    pitch = keyed(u, [(0, 0), (0.3, 0.1), (0.45, -0.25), (0.6, 0.0), (0.72, 0.15), (0.85, 0), (1, 0)])
    _body(
        poser,
        body,
        hips=quat.about_x(pitch),
        chest=quat.about_x(pitch - 0.1 * tuck),
        head=quat.about_x(-0.5 * pitch),
        tail_swing=0.2 * tuck,
    )
    tracks = {}
    for name, leg in body.legs.items():
        track = standing(leg, poser)
        track.ankle[:, 1] += height + 0.3 * legs * tuck
        sign = 1.0 if name.startswith("Front") else -1.0
        track.ankle[:, 2] += sign * 0.1 * legs * tuck
        tracks[name] = FootTrack(ankle=track.ankle, pitch=-sign * 0.4 * tuck, toe_pitch=np.zeros(line.frames))
    plant_legs(poser, body, tracks, travel)
    return poser.to_clip("jump", fps, loop=False)


def attack(body: Body, fps: float, in_place: bool) -> Clip:
    """Crouch back on planted feet, lunge forward with the head low and the jaws leading, snap the
    head up, recover (one shot)."""
    legs = body.leg_length
    line = timeline(1.1 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    lunge = keyed(u, [(0, 0), (0.1, 0), (0.35, -1), (0.5, 1), (0.62, 0.8), (1, 0)])
    snap = keyed(u, [(0, 0), (0.45, 0), (0.52, 1), (0.62, 0.2), (1, 0)])
    poser.root_offset[:, 1] = -0.12 * legs * np.abs(lunge)
    poser.root_offset[:, 2] = 0.15 * legs * lunge
    arch = 0.12 * lunge
    _body(
        poser,
        body,
        hips=quat.about_x(-0.5 * arch),
        chest=quat.about_x(arch),
        head=quat.about_x(0.35 * np.maximum(lunge, 0.0) - 0.5 * snap),
        tail_swing=0.3 * snap,
    )
    _stand(poser, body)
    return poser.to_clip("attack", fps, loop=False)


def death(body: Body, fps: float, in_place: bool) -> Clip:
    """The legs give way, the body sinks onto its belly and rolls over onto its side (one shot, ends
    lying down)."""
    legs = body.leg_length
    line = timeline(1.8 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    sink = keyed(u, [(0, 0), (0.05, 0), (0.45, 1), (1, 1)])
    roll = keyed(u, [(0, 0), (0.4, 0), (0.8, 1), (0.86, 0.94), (0.92, 1), (1, 1)])
    poser.root_offset[:, 1] = -0.45 * legs * sink
    droop = quat.about_x(0.4 * sink)
    _body(
        poser,
        body,
        hips=quat.identity(line.frames),
        chest=quat.about_x(0.1 * sink),
        head=droop,
        tail_swing=np.zeros(line.frames),
    )
    _stand(poser, body)
    side = 0.35 * legs
    topple(poser, quat.about_z(-1.3 * roll), np.array([side + float(poser.rest("Hips")[0]), 0.0, 0.0]))
    return poser.to_clip("death", fps, loop=False)


QUADRUPED_BUILDERS: dict[str, Callable[[Body, float, bool], Clip]] = {
    "idle": idle,
    "walk": walk,
    "run": run,
    "trot": trot,
    "turn_left": turn_left,
    "turn_right": turn_right,
    "jump": jump,
    "attack": attack,
    "death": death,
}
