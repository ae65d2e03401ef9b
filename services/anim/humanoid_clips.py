"""The humanoid clip library, generated for the fitted skeleton.

Lengths are in leg lengths (hip height) and durations scale with its square root, so a short
goblin takes quicker, shorter steps than a tall knight. Feet are placed by IK on the gait's
foot tracks (no sliding while planted); arms hang clear of the hips whatever the rest pose
(T or A). Loops (idle, walk, run, wave) repeat exactly; jump and attack start and end in the
idle stance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Clip
from services.anim import quaternions as quat
from services.anim.body import Body
from services.anim.gait import FootTrack, Gait, foot_track, keyed, timeline
from services.anim.limbs import aim, chain, drop_to_reach, hang_arms, keyed_direction, plant_legs, standing
from services.anim.pose import Poser
from services.anim.quaternions import Floats

SPINE = ("Spine", "Spine1", "Spine2")
NECK = ("Neck", "Head")
TAU = 2.0 * math.pi


@dataclass(frozen=True)
class _Locomotion:
    gait: Gait  # stride and lift in leg lengths, cycle in seconds for 0.9 m legs
    lean: float  # radians the chest leans forward
    hip_yaw: float  # radians the pelvis turns with the stride
    hip_roll: float  # radians the swing side of the pelvis drops
    sway: float  # pelvis side-to-side, leg lengths
    bob: float  # pelvis up-and-down, leg lengths
    bob_high_mid_stance: bool  # walking vaults over the planted leg; running sinks into it
    arm_swing: float  # radians
    elbow: float  # radians of elbow bend


WALK = _Locomotion(
    gait=Gait(cycle_s=1.1, stride=1.15, duty=0.6, lift=0.1, heel_roll=math.radians(22)),
    lean=math.radians(3),
    hip_yaw=math.radians(5),
    hip_roll=math.radians(3),
    sway=0.02,
    bob=0.025,
    bob_high_mid_stance=True,
    arm_swing=math.radians(18),
    elbow=math.radians(15),
)
RUN = _Locomotion(
    gait=Gait(cycle_s=0.72, stride=2.3, duty=0.36, lift=0.3, heel_roll=math.radians(30)),
    lean=math.radians(10),
    hip_yaw=math.radians(7),
    hip_roll=math.radians(2),
    sway=0.01,
    bob=0.05,
    bob_high_mid_stance=False,
    arm_swing=math.radians(35),
    elbow=math.radians(80),
)


def _locomotion(name: str, style: _Locomotion, body: Body, fps: float, in_place: bool) -> Clip:
    legs = body.leg_length
    units = style.gait
    line = timeline(units.cycle_s * body.time_scale, fps)
    gait = Gait(line.duration, units.stride * legs, units.duty, units.lift * legs, units.heel_roll)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    travel = np.zeros(line.frames) if in_place else gait.stride * phase
    mid_stance = phase - gait.duty / 2
    bob_shape = np.cos(2 * TAU * mid_stance) if style.bob_high_mid_stance else -np.cos(2 * TAU * mid_stance)
    poser.root_offset[:, 0] = style.sway * legs * np.cos(TAU * mid_stance)
    poser.root_offset[:, 1] = style.bob * legs * 0.5 * (bob_shape - 1.0)
    poser.root_offset[:, 2] = travel
    tracks = {
        side: foot_track(gait, phase + offset, poser.rest(leg.foot), leg.pivot)
        for (side, leg), offset in zip(body.legs.items(), (0.0, 0.5), strict=True)
    }
    poser.root_offset[:, 1] -= drop_to_reach(poser, body, tracks, travel)

    yaw = -style.hip_yaw * np.cos(TAU * phase)  # the pelvis turns the forward leg's hip forward
    hips = quat.multiply(quat.about_y(yaw), quat.about_z(style.hip_roll * np.cos(TAU * mid_stance)))
    chest = quat.multiply(quat.about_y(-0.6 * yaw), quat.about_x(np.full(line.frames, style.lean)))
    _torso(poser, hips, chest, quat.about_x(np.full(line.frames, -0.5 * style.lean)))
    plant_legs(poser, body, tracks, travel)
    swing = {"Left": -style.arm_swing * np.cos(TAU * phase), "Right": style.arm_swing * np.cos(TAU * phase)}
    flex = {side: style.elbow + 0.3 * np.maximum(swing[side], 0.0) for side in swing}
    hang_arms(poser, body, swing, flex)
    return poser.to_clip(name, fps, loop=True)


def _torso(poser: Poser, hips: Floats, chest: Floats, head: Floats) -> None:
    poser.set("Hips", hips)
    chain(poser, SPINE, hips, chest)
    chain(poser, NECK, chest, head)


def _stand(poser: Poser, body: Body) -> None:
    plant_legs(
        poser, body, {side: standing(leg, poser) for side, leg in body.legs.items()}, np.zeros(poser.frames)
    )


def walk(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("walk", WALK, body, fps, in_place)


def run(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("run", RUN, body, fps, in_place)


def idle(body: Body, fps: float, in_place: bool) -> Clip:
    """Relaxed stance: weight shifting side to side, breathing, a look around."""
    legs = body.leg_length
    line = timeline(3.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 0] = 0.012 * legs * np.sin(TAU * phase)
    poser.root_offset[:, 1] = -0.015 * legs + 0.003 * legs * np.sin(2 * TAU * phase)
    hips = quat.about_z(0.02 * np.sin(TAU * phase))
    chest = quat.about_x(0.02 + 0.015 * np.sin(2 * TAU * phase))
    _torso(poser, hips, chest, quat.about_y(0.12 * np.sin(TAU * phase)))
    _stand(poser, body)
    sway = 0.03 * np.sin(2 * TAU * phase)
    hang_arms(poser, body, {"Left": sway, "Right": sway}, {"Left": 0.15, "Right": 0.15})
    return poser.to_clip("idle", fps, loop=True)


def jump(body: Body, fps: float, in_place: bool) -> Clip:
    """Crouch, take off, tuck in the air, land and absorb, stand up again (in place, one shot)."""
    legs = body.leg_length
    line = timeline(1.4 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    crouch = keyed(
        u, [(0, 0), (0.08, 0), (0.3, 1), (0.38, 0.15), (0.42, 0), (0.72, 0), (0.78, 0.8), (0.9, 0.2), (1, 0)]
    )
    flight = np.clip((u - 0.42) / 0.3, 0.0, 1.0)
    height = 0.35 * legs * 4.0 * flight * (1.0 - flight)
    tuck = keyed(u, [(0, 0), (0.44, 0), (0.52, 1), (0.64, 1), (0.72, 0), (1, 0)])
    poser.root_offset[:, 1] = -0.25 * legs * crouch + height
    lean = 0.35 * crouch + 0.1 * tuck
    hips = quat.about_x(0.15 * crouch)
    _torso(poser, hips, quat.about_x(lean), quat.about_x(-0.3 * lean))
    tracks = {}
    for side, leg in body.legs.items():
        track = standing(leg, poser)
        track.ankle[:, 1] += height + 0.2 * legs * tuck
        track.ankle[:, 2] += 0.06 * legs * tuck
        tracks[side] = FootTrack(ankle=track.ankle, pitch=0.5 * tuck, toe_pitch=0.5 * tuck)
    plant_legs(poser, body, tracks, np.zeros(line.frames))
    swing = keyed(
        u, [(0, 0), (0.08, 0), (0.3, -0.7), (0.44, 2.2), (0.6, 1.5), (0.76, 0.3), (0.88, -0.2), (1, 0)]
    )
    flex = 0.2 + 0.4 * crouch
    hang_arms(poser, body, {"Left": swing, "Right": swing}, {"Left": flex, "Right": flex})
    return poser.to_clip("jump", fps, loop=False)


def attack(body: Body, fps: float, in_place: bool) -> Clip:
    """An overhead strike with the right arm: wind up, swing through, recover (one shot)."""
    legs = body.leg_length
    line = timeline(1.2 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    twist = keyed(u, [(0, 0), (0.1, 0), (0.35, -0.45), (0.5, 0.5), (0.62, 0.35), (1, 0)])
    lean = keyed(u, [(0, 0), (0.35, -0.08), (0.5, 0.3), (0.65, 0.2), (1, 0)])
    crouch = keyed(u, [(0, 0), (0.35, 0.3), (0.5, 1), (0.7, 0.6), (1, 0)])
    poser.root_offset[:, 1] = -0.08 * legs * crouch
    hips = quat.about_y(0.4 * twist)
    chest = quat.multiply(quat.about_y(twist), quat.about_x(lean))
    _torso(poser, hips, chest, quat.about_y(-0.5 * twist))
    _stand(poser, body)
    guard = 0.4 * crouch
    hang_arms(poser, body, {"Left": guard}, {"Left": 0.3 + guard})
    hang = math.radians(body.hang_degrees)
    down = (-math.sin(hang), -math.cos(hang), 0.0)
    upper = [
        (0.0, down),
        (0.12, down),
        (0.35, (-0.35, 0.85, -0.4)),
        (0.5, (-0.1, 0.1, 1.0)),
        (0.62, (0.05, -0.55, 0.8)),
        (0.88, down),
        (1.0, down),
    ]
    fore = [
        (0.0, down),
        (0.12, down),
        (0.35, (-0.1, 0.2, -1.0)),
        (0.5, (-0.05, 0.05, 1.0)),
        (0.62, (0.05, -0.6, 0.8)),
        (0.88, down),
        (1.0, down),
    ]
    aim(poser, "RightArm", keyed_direction(u, upper))
    aim(poser, "RightForeArm", keyed_direction(u, fore))
    return poser.to_clip("attack", fps, loop=False)


def wave(body: Body, fps: float, in_place: bool) -> Clip:
    """The right hand raised and waving side to side three times per loop."""
    legs = body.leg_length
    line = timeline(2.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 1] = -0.01 * legs + 0.002 * legs * np.sin(TAU * phase)
    chest = quat.about_x(0.01 * np.sin(TAU * phase))
    _torso(poser, quat.identity(line.frames), chest, quat.about_z(-0.08 + 0.02 * np.sin(TAU * phase)))
    _stand(poser, body)
    hang_arms(poser, body, {"Left": 0.0}, {"Left": 0.15})
    aim(poser, "RightArm", np.array([-0.75, 0.6, 0.25]))
    swing = 0.35 * np.sin(3 * TAU * phase)
    up = quat.rotate(quat.about_z(swing), np.array([-0.15, 1.0, 0.2]))
    aim(poser, "RightForeArm", up)
    poser.set(
        "RightHand",
        quat.multiply(quat.about_z(0.25 * np.sin(3 * TAU * phase - 0.6)), poser.get("RightForeArm")),
    )
    return poser.to_clip("wave", fps, loop=True)


HUMANOID_BUILDERS: dict[str, Callable[[Body, float, bool], Clip]] = {
    "idle": idle,
    "walk": walk,
    "run": run,
    "jump": jump,
    "attack": attack,
    "wave": wave,
}
