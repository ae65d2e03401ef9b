"""The humanoid clip library, generated for the fitted skeleton.

Lengths are in leg lengths (hip height) and durations scale with its square root, so a short
goblin takes quicker, shorter steps than a tall knight. Feet are placed by IK on the gait's
foot tracks (no sliding while planted); arms hang clear of the torso whatever the rest pose
(T or A), and strikes pass outside it. Loops (idles, locomotion, wave, jump_loop, block,
crouch) repeat exactly; jump, attacks and hit start and end in the stance; jump_start,
jump_loop and jump_land are the whole jump's take-off, flight and landing; turns end facing
the new way and death ends lying down.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Clip
from services.anim import quaternions as quat
from services.anim.body import FORWARD, Body
from services.anim.gait import FootTrack, Gait, foot_track, keyed, timeline
from services.anim.limbs import aim, chain, drop_to_reach, hang_arms, keyed_direction, plant_legs, standing
from services.anim.moves import topple, turn_in_steps, twist_legs
from services.anim.pose import Poser
from services.anim.quaternions import Floats

SPINE = ("Spine", "Spine1", "Spine2")
NECK = ("Neck", "Head")
TAU = 2.0 * math.pi
Key3 = tuple[float, float, float]
Key = tuple[float, Key3]


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
# Run and sprint strides are kept short of an athlete's: at 3 leg lengths the sprint swung the thigh
# 112 degrees and folded the knee 146, further than a linear-blend-skinned hip and knee bend cleanly.
# Their arm swings likewise (35 and 28 degrees: at 50 the sprint stretched the back of an armpit 2.6x).
SPRINT = _Locomotion(
    gait=Gait(cycle_s=0.62, stride=2.6, duty=0.3, lift=0.4, heel_roll=math.radians(32)),
    lean=math.radians(18),
    hip_yaw=math.radians(8),
    hip_roll=math.radians(2),
    sway=0.008,
    bob=0.06,
    bob_high_mid_stance=False,
    arm_swing=math.radians(35),
    elbow=math.radians(90),
)
STRAFE = _Locomotion(  # sideways: short steps without heel roll, so the feet do not cross
    gait=Gait(cycle_s=1.0, stride=0.5, duty=0.6, lift=0.1, heel_roll=0.0),
    lean=math.radians(4),
    hip_yaw=0.0,
    hip_roll=math.radians(2),
    sway=0.0,
    bob=0.02,
    bob_high_mid_stance=True,
    arm_swing=math.radians(6),
    elbow=math.radians(40),
)
RUN = _Locomotion(
    gait=Gait(cycle_s=0.72, stride=2.1, duty=0.36, lift=0.3, heel_roll=math.radians(30)),
    lean=math.radians(10),
    hip_yaw=math.radians(7),
    hip_roll=math.radians(2),
    sway=0.01,
    bob=0.05,
    bob_high_mid_stance=False,
    arm_swing=math.radians(28),
    elbow=math.radians(80),
)


def _locomotion(
    name: str, style: _Locomotion, body: Body, fps: float, in_place: bool, heading: float = 0.0
) -> Clip:
    """A gait cycle travelling at `heading` radians about +Y from forward (pi/2: strafing left)."""
    legs = body.leg_length
    units = style.gait
    line = timeline(units.cycle_s * body.time_scale, fps)
    gait = Gait(line.duration, units.stride * legs, units.duty, units.lift * legs, units.heel_roll)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    direction = quat.rotate(quat.about_y(heading), FORWARD)
    travel = np.zeros(line.frames) if in_place else gait.stride * phase
    mid_stance = phase - gait.duty / 2
    bob_shape = np.cos(2 * TAU * mid_stance) if style.bob_high_mid_stance else -np.cos(2 * TAU * mid_stance)
    poser.root_offset[:, 0] = style.sway * legs * np.cos(TAU * mid_stance)
    poser.root_offset[:, 1] = style.bob * legs * 0.5 * (bob_shape - 1.0)
    poser.root_offset += travel[:, None] * direction
    tracks = {
        side: _headed(
            foot_track(gait, phase + offset, poser.rest(leg.foot), leg.pivot), poser.rest(leg.foot), heading
        )
        for (side, leg), offset in zip(body.legs.items(), (0.0, 0.5), strict=True)
    }
    poser.root_offset[:, 1] -= drop_to_reach(poser, body, tracks, travel, direction)

    yaw = -style.hip_yaw * np.cos(TAU * phase)  # the pelvis turns the forward leg's hip forward
    hips = quat.multiply(quat.about_y(yaw), quat.about_z(style.hip_roll * np.cos(TAU * mid_stance)))
    chest = quat.multiply(quat.about_y(-0.6 * yaw), quat.about_x(np.full(line.frames, style.lean)))
    _torso(poser, hips, chest, quat.about_x(np.full(line.frames, -0.5 * style.lean)))
    _plant(poser, body, tracks, travel, direction)
    swing = {"Left": -style.arm_swing * np.cos(TAU * phase), "Right": style.arm_swing * np.cos(TAU * phase)}
    flex = {side: style.elbow + 0.3 * np.maximum(swing[side], 0.0) for side in swing}
    hang_arms(poser, body, swing, flex)
    return poser.to_clip(name, fps, loop=True, heading=direction)


def _headed(track: FootTrack, ankle_rest: Floats, heading: float) -> FootTrack:
    """A forward foot track turned to travel at `heading` about the foot's rest place."""
    if heading == 0.0:
        return track
    ankle = ankle_rest + quat.rotate(quat.about_y(heading), track.ankle - ankle_rest)
    return FootTrack(ankle=ankle, pitch=track.pitch, toe_pitch=track.toe_pitch)


def _torso(poser: Poser, hips: Floats, chest: Floats, head: Floats) -> None:
    poser.set("Hips", hips)
    chain(poser, SPINE, hips, chest)
    chain(poser, NECK, chest, head)


def _plant(
    poser: Poser, body: Body, tracks: dict[str, FootTrack], travel: Floats, heading: Floats = FORWARD
) -> None:
    """The legs on their foot tracks, each knee facing where its foot points (moves.twist_legs)."""
    plant_legs(poser, body, tracks, travel, heading)
    twist_legs(poser, body, tracks)


def _stand(poser: Poser, body: Body) -> None:
    _plant(
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


def _jump_pose(poser: Poser, body: Body, crouch: Floats, height: Floats, tuck: Floats, swing: Floats) -> None:
    """The jump's pose from its curves (leg lengths / 0..1 / radians per frame): the root sinks by
    `crouch` and rises by `height`, the feet tuck up under the body by `tuck`, the arms swing."""
    legs = body.leg_length
    poser.root_offset[:, 1] = -0.25 * legs * crouch + height
    lean = 0.35 * crouch + 0.1 * tuck
    _torso(poser, quat.about_x(0.15 * crouch), quat.about_x(lean), quat.about_x(-0.3 * lean))
    tracks = {}
    for side, leg in body.legs.items():
        track = standing(leg, poser)
        track.ankle[:, 1] += height + 0.2 * legs * tuck
        track.ankle[:, 2] += 0.06 * legs * tuck
        tracks[side] = FootTrack(ankle=track.ankle, pitch=0.5 * tuck, toe_pitch=0.5 * tuck)
    _plant(poser, body, tracks, np.zeros(poser.frames))
    flex = 0.2 + 0.4 * crouch
    hang_arms(poser, body, {"Left": swing, "Right": swing}, {"Left": flex, "Right": flex})


JUMP_HEIGHT = 0.35  # leg lengths at the top of the flight
CROUCH_KEYS: list[tuple[float, float]] = [
    (0, 0),
    (0.08, 0),
    (0.3, 1),
    (0.38, 0.15),
    (0.42, 0),
    (0.72, 0),
    (0.78, 0.8),
    (0.9, 0.2),
    (1, 0),
]
TUCK_KEYS: list[tuple[float, float]] = [(0, 0), (0.44, 0), (0.52, 1), (0.64, 1), (0.72, 0), (1, 0)]
# the arms swing up to 45 degrees forward at take-off: at 126 the shoulder's skin stretched 2.9x
SWING_KEYS: list[tuple[float, float]] = [
    (0, 0),
    (0.08, 0),
    (0.3, -0.45),
    (0.44, 0.8),
    (0.6, 0.55),
    (0.76, 0.15),
    (0.88, -0.1),
    (1, 0),
]


def _jump_part(name: str, body: Body, fps: float, seconds: float, span: tuple[float, float]) -> Clip:
    """The span (start, end) of the whole jump's normalised time, as a one-shot clip."""
    line = timeline(seconds * body.time_scale, fps)
    u = span[0] + (span[1] - span[0]) * line.phase
    poser = Poser(body.skeleton, line.frames)
    flight = np.clip((u - 0.42) / 0.3, 0.0, 1.0)
    height = JUMP_HEIGHT * body.leg_length * 4.0 * flight * (1.0 - flight)
    _jump_pose(poser, body, keyed(u, CROUCH_KEYS), height, keyed(u, TUCK_KEYS), keyed(u, SWING_KEYS))
    return poser.to_clip(name, fps, loop=False)


def jump(body: Body, fps: float, in_place: bool) -> Clip:
    """Crouch, take off, tuck in the air, land and absorb, stand up again (in place, one shot)."""
    return _jump_part("jump", body, fps, 1.4, (0.0, 1.0))


def jump_start(body: Body, fps: float, in_place: bool) -> Clip:
    """The jump from the stance to the top of the flight: hand over to jump_loop."""
    return _jump_part("jump_start", body, fps, 0.8, (0.0, 0.57))


def jump_land(body: Body, fps: float, in_place: bool) -> Clip:
    """From the top of the flight down, absorbing the landing, back to the stance."""
    return _jump_part("jump_land", body, fps, 0.6, (0.57, 1.0))


def jump_loop(body: Body, fps: float, in_place: bool) -> Clip:
    """Held in the air for as long as the fall lasts: the top-of-flight pose, legs and arms paddling."""
    line = timeline(0.8 * body.time_scale, fps)
    wave_ = np.sin(TAU * line.phase)
    poser = Poser(body.skeleton, line.frames)
    height = np.full(line.frames, JUMP_HEIGHT * body.leg_length)
    swing = keyed(np.full(line.frames, 0.57), SWING_KEYS) + 0.2 * wave_
    _jump_pose(
        poser, body, np.zeros(line.frames), height, 1.0 - 0.15 * (1.0 - np.cos(TAU * line.phase)), swing
    )
    return poser.to_clip("jump_loop", fps, loop=True)


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
    down = _hang_down(body, "Right")
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
    """The free hand (Body.free_hand: the right unless it holds the longer thing, such as a staff that
    would sweep through the head) raised and waving side to side three times per loop."""
    legs = body.leg_length
    line = timeline(2.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 1] = -0.01 * legs + 0.002 * legs * np.sin(TAU * phase)
    chest = quat.about_x(0.01 * np.sin(TAU * phase))
    _torso(poser, quat.identity(line.frames), chest, quat.about_z(-0.08 + 0.02 * np.sin(TAU * phase)))
    _stand(poser, body)
    side = body.free_hand
    other = "Left" if side == "Right" else "Right"
    mirror = np.array([-1.0 if side == "Right" else 1.0, 1.0, 1.0])  # +X is the subject's left
    hang_arms(poser, body, {other: 0.0}, {other: 0.15})
    aim(poser, f"{side}Arm", mirror * np.array([0.75, 0.6, 0.25]))
    turn = -mirror[0]  # a turn about +Z mirrors to its opposite
    swing = turn * 0.35 * np.sin(3 * TAU * phase)
    up = quat.rotate(quat.about_z(swing), mirror * np.array([0.15, 1.0, 0.2]))
    aim(poser, f"{side}ForeArm", up)
    poser.set(
        f"{side}Hand",
        quat.multiply(quat.about_z(turn * 0.25 * np.sin(3 * TAU * phase - 0.6)), poser.get(f"{side}ForeArm")),
    )
    return poser.to_clip("wave", fps, loop=True)


def sprint(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("sprint", SPRINT, body, fps, in_place)


def strafe_left(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("strafe_left", STRAFE, body, fps, in_place, heading=math.pi / 2)


def strafe_right(body: Body, fps: float, in_place: bool) -> Clip:
    return _locomotion("strafe_right", STRAFE, body, fps, in_place, heading=-math.pi / 2)


def _turn(name: str, sign: float, body: Body, fps: float) -> Clip:
    """A quarter turn on the spot (sign +1: left) in four steps, the feet taking turns, the lead foot
    first; the chest and head look into the turn ahead of the hips (one shot, ends facing the new
    way). The pelvis stops a step at a time, a quarter of the turn each, so it stays within about
    30 degrees of the planted foot."""
    line = timeline(1.6 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    stops = [(0.0, 0.0), (0.08, 0.0), (0.3, 0.25), (0.5, 0.5), (0.7, 0.75), (0.9, 1.0), (1.0, 1.0)]
    yaw = sign * (math.pi / 2) * keyed(u, stops)
    lead, trail = ("Left", "Right") if sign > 0 else ("Right", "Left")
    root = poser.rest("Hips")
    poser.root_offset[:, 1] = -0.03 * body.leg_length * np.sin(math.pi * u)
    steps = {lead: [(0.08, 0.32), (0.48, 0.72)], trail: [(0.28, 0.52), (0.68, 0.92)]}
    tracks = turn_in_steps(poser, body, u, yaw, steps, root[[0, 2]], 0.08 * body.leg_length)
    look = sign * 0.35 * np.sin(math.pi * keyed(u, [(0, 0), (0.05, 0), (0.8, 1), (1, 1)]))
    _torso(poser, quat.about_y(yaw), quat.about_y(yaw + 0.5 * look), quat.about_y(yaw + look))
    _plant(poser, body, tracks, np.zeros(line.frames))
    hang_arms(poser, body, {"Left": 0.2, "Right": 0.2}, {"Left": 0.4, "Right": 0.4}, yaw=yaw)
    return poser.to_clip(name, fps, loop=False)


def turn_left(body: Body, fps: float, in_place: bool) -> Clip:
    return _turn("turn_left", 1.0, body, fps)


def turn_right(body: Body, fps: float, in_place: bool) -> Clip:
    return _turn("turn_right", -1.0, body, fps)


def idle_alert(body: Body, fps: float, in_place: bool) -> Clip:
    """A guarded stance: knees soft, fists up in front of the chest, weight bouncing lightly."""
    legs = body.leg_length
    line = timeline(1.5 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 0] = 0.01 * legs * np.sin(TAU * phase)
    poser.root_offset[:, 1] = -0.07 * legs + 0.008 * legs * np.sin(2 * TAU * phase)
    chest = quat.about_x(0.12 + 0.02 * np.sin(2 * TAU * phase))
    _torso(poser, quat.about_y(0.05 * np.sin(TAU * phase)), chest, quat.about_x(-0.1))
    _stand(poser, body)
    guard = 0.55 + 0.05 * np.sin(2 * TAU * phase)
    hang_arms(poser, body, {"Left": guard, "Right": guard}, {"Left": 1.5, "Right": 1.5})
    return poser.to_clip("idle_alert", fps, loop=True)


def idle_look(body: Body, fps: float, in_place: bool) -> Clip:
    """Standing and looking over one shoulder, then the other; the chest follows the head a little."""
    legs = body.leg_length
    line = timeline(4.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 1] = -0.015 * legs + 0.003 * legs * np.sin(2 * TAU * phase)
    look = 0.7 * np.sin(TAU * phase)
    _torso(poser, quat.identity(line.frames), quat.about_y(0.25 * look), quat.about_y(look))
    _stand(poser, body)
    hang_arms(poser, body, {"Left": 0.0, "Right": 0.0}, {"Left": 0.15, "Right": 0.15})
    return poser.to_clip("idle_look", fps, loop=True)


def crouch(body: Body, fps: float, in_place: bool) -> Clip:
    """Crouched low on the spot, leaning forward, breathing and looking about (a loop)."""
    legs = body.leg_length
    line = timeline(2.0 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    poser.root_offset[:, 1] = -0.35 * legs + 0.015 * legs * np.sin(2 * TAU * phase)
    chest = quat.multiply(
        quat.about_y(0.1 * np.sin(TAU * phase)), quat.about_x(0.45 + 0.05 * np.sin(2 * TAU * phase))
    )
    _torso(poser, quat.about_x(0.3), chest, quat.about_y(0.4 * np.sin(TAU * phase)))
    _stand(poser, body)
    # the arms hang straight down below the leaning chest, already 30 degrees forward of it: swung
    # forward 0.5 more, they stretched the skin over the shoulders 2.3x
    hang_arms(poser, body, {"Left": 0.0, "Right": 0.0}, {"Left": 0.6, "Right": 0.6})
    return poser.to_clip("crouch", fps, loop=True)


def _arm_path(poser: Poser, side: str, u: Floats, upper: list[Key], fore: list[Key]) -> None:
    aim(poser, f"{side}Arm", keyed_direction(u, upper))
    aim(poser, f"{side}ForeArm", keyed_direction(u, fore))


def attack_thrust(body: Body, fps: float, in_place: bool) -> Clip:
    """A lunging thrust with the right arm (a held item leads): draw back, drive forward at chest
    height, recover (one shot)."""
    legs = body.leg_length
    line = timeline(1.0 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    drive = keyed(u, [(0, 0), (0.15, 0), (0.35, -0.3), (0.5, 1), (0.65, 0.9), (1, 0)])
    poser.root_offset[:, 1] = -0.1 * legs * np.abs(drive)
    twist = -0.35 * drive
    chest = quat.multiply(quat.about_y(twist), quat.about_x(0.15 * drive))
    _torso(poser, quat.about_y(0.4 * twist), chest, quat.about_y(-0.6 * twist))
    _stand(poser, body)
    hang_arms(poser, body, {"Left": 0.3 * np.abs(drive)}, {"Left": 0.4 + 0.6 * np.abs(drive)})
    down = _hang_down(body, "Right")
    _arm_path(
        poser,
        "Right",
        u,
        [
            (0, down),
            (0.15, down),
            (0.35, (-0.55, -0.45, -0.7)),
            (0.5, (-0.15, 0.05, 1.0)),
            (0.65, (-0.15, 0.05, 1.0)),
            (0.9, down),
            (1, down),
        ],
        [
            (0, down),
            (0.15, down),
            (0.35, (-0.2, 0.1, 1.0)),
            (0.5, (-0.05, 0.05, 1.0)),
            (0.65, (-0.05, 0.05, 1.0)),
            (0.9, down),
            (1, down),
        ],
    )
    return poser.to_clip("attack_thrust", fps, loop=False)


def _hang_down(body: Body, side: str) -> Key3:
    """The direction an arm hangs in at rest ("Left" or "Right")."""
    hang = math.radians(body.hang_degrees[side])
    sign = 1.0 if side == "Left" else -1.0
    return (sign * math.sin(hang), -math.cos(hang), 0.0)


def block(body: Body, fps: float, in_place: bool) -> Clip:
    """The left forearm (and a shield on it) held up across the front of the chest, braced, with a
    small recoil each loop as if taking blows."""
    legs = body.leg_length
    line = timeline(1.6 * body.time_scale, fps)
    phase = line.phase
    poser = Poser(body.skeleton, line.frames)
    recoil = (0.5 - 0.5 * np.cos(TAU * phase)) ** 4  # a sharp push at mid-loop
    poser.root_offset[:, 1] = -0.08 * legs - 0.02 * legs * recoil
    _torso(poser, quat.about_y(0.15), quat.about_x(0.12 - 0.08 * recoil), quat.about_x(-0.08))
    _stand(poser, body)
    hang_arms(poser, body, {"Right": 0.35}, {"Right": 0.6})
    # the upper arm out to the side more than forward: reaching forward it stretched the back of the
    # armpit 2.4x (the forearm still brings the shield across the chest)
    upper = np.broadcast_to(np.array([0.7, -0.5, 0.5]), (line.frames, 3)).copy()
    upper[:, 2] -= 0.15 * recoil
    fore = np.broadcast_to(np.array([-0.35, 0.75, 0.55]), (line.frames, 3))
    aim(poser, "LeftArm", upper)
    aim(poser, "LeftForeArm", fore)
    return poser.to_clip("block", fps, loop=True)


def hit(body: Body, fps: float, in_place: bool) -> Clip:
    """A blow to the chest from the front: the torso snaps back, the head whips, arms fly out, and
    the body recovers to the stance (one shot)."""
    legs = body.leg_length
    line = timeline(0.7 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    jolt = keyed(u, [(0, 0), (0.08, 0), (0.25, 1), (0.45, 0.7), (1, 0)])
    poser.root_offset[:, 1] = -0.06 * legs * jolt
    poser.root_offset[:, 2] = -0.04 * legs * jolt
    _torso(poser, quat.about_x(-0.1 * jolt), quat.about_x(-0.35 * jolt), quat.about_x(-0.55 * jolt))
    _stand(poser, body)
    hang_arms(
        poser, body, {"Left": 0.5 * jolt, "Right": 0.6 * jolt}, {"Left": 0.2 + jolt, "Right": 0.2 + jolt}
    )
    return poser.to_clip("hit", fps, loop=False)


def death(body: Body, fps: float, in_place: bool) -> Clip:
    """The knees buckle, then the body topples backwards onto the ground and lies still (one shot,
    ends lying down)."""
    legs = body.leg_length
    line = timeline(1.6 * body.time_scale, fps)
    u = line.phase
    poser = Poser(body.skeleton, line.frames)
    buckle = keyed(u, [(0, 0), (0.05, 0), (0.35, 1), (1, 1)])
    fall = keyed(u, [(0, 0), (0.3, 0), (0.75, 1), (0.82, 0.96), (0.88, 1), (1, 1)])
    poser.root_offset[:, 1] = -0.4 * legs * buckle
    _torso(poser, quat.about_x(0.25 * buckle), quat.about_x(0.35 * buckle), quat.about_x(0.2 * buckle))
    _stand(poser, body)
    flail = 0.1 * buckle + 0.3 * fall  # the arms trail the fall (flung 80 degrees up: shoulders 2.6x)
    hang_arms(poser, body, {"Left": flail, "Right": 0.8 * flail}, {"Left": 0.3, "Right": 0.5})
    ankles = poser.rest(body.legs["Left"].foot) * np.array([0.0, 1.0, 1.0])  # the feet stay put
    topple(poser, quat.about_x(-1.5 * fall), ankles)
    return poser.to_clip("death", fps, loop=False)


HUMANOID_BUILDERS: dict[str, Callable[[Body, float, bool], Clip]] = {
    "idle": idle,
    "walk": walk,
    "run": run,
    "jump": jump,
    "attack": attack,
    "wave": wave,
    "idle_alert": idle_alert,
    "idle_look": idle_look,
    "sprint": sprint,
    "strafe_left": strafe_left,
    "strafe_right": strafe_right,
    "turn_left": turn_left,
    "turn_right": turn_right,
    "jump_start": jump_start,
    "jump_loop": jump_loop,
    "jump_land": jump_land,
    "attack_thrust": attack_thrust,
    "block": block,
    "hit": hit,
    "death": death,
    "crouch": crouch,
}
