"""Parametric gaits: where each foot is over one cycle, and the timing helpers clips share.

A foot is planted for the first `duty` share of its cycle: its pivot (ball or toe tip) slides
back under the body at exactly the travel speed, so it stays put on the ground while the body
moves forward; late in stance the heel rolls up over the pivot. In swing the ankle returns along
a Hermite curve whose end velocities match stance, lifted by a smooth bump; it rises off and
sets down in place, without sliding over the ground: positions and velocities are continuous everywhere,
including across the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.anim import quaternions as quat
from services.anim.quaternions import Floats

Bools = npt.NDArray[np.bool_]

MIN_CYCLE_FRAMES = 4
LANDING = 0.2  # share of the swing at each end in which the foot rises or sets down in place ...
LANDING_REACH = 0.15  # ... but reaching at most this share of the stance sweep further out
BREAK_OVER = 0.08  # a hoof breaks over its toe for this share of its stance time, at most ...
MAX_BREAK_OVER = 0.2  # ... this share of its swing
SET_DOWN = 0.1  # share of a hoof's flight at the end in which it only comes down
# A heel lifts over the last quarter of its stance: the ankle then rises quickly through the few
# centimetres where it still counts as on the ground, moving forward with the roll (from half the
# stance, a run's slow start of the roll carried the ankle forward at 0.026 m/s while low).
HEEL_OFF = 0.75


@dataclass(frozen=True)
class Gait:
    cycle_s: float  # one full cycle (two steps of a biped)
    stride: float  # distance travelled per cycle, metres
    duty: float  # share of the cycle each foot is on the ground
    lift: float  # swing height of the ankle, metres
    heel_roll: float  # radians the foot rolls over its pivot by the end of stance


@dataclass(frozen=True)
class FootTrack:
    ankle: Floats  # (frames, 3) ankle targets relative to the body (travel not included)
    pitch: Floats  # (frames,) the foot's world pitch about +X (heel up is positive)
    toe_pitch: Floats  # (frames,) world pitch of a toe joint: flat on the ground in stance
    yaw: Floats | float = 0.0  # the foot's world heading about +Y (turning on the spot)
    planted: Bools | None = None  # (frames,) when the foot bears weight and must be reached; None: always


@dataclass(frozen=True)
class Timeline:
    frames: int
    fps: float
    duration: float

    @property
    def times(self) -> Floats:
        return np.arange(self.frames) / self.fps

    @property
    def phase(self) -> Floats:
        """0 at the first frame, 1 at the last."""
        return np.arange(self.frames) / max(self.frames - 1, 1)


def timeline(duration: float, fps: float) -> Timeline:
    """Frames covering `duration` at `fps`, with the duration snapped to whole frames so the last
    frame lands exactly on the end (at least MIN_CYCLE_FRAMES intervals)."""
    intervals = max(round(duration * fps), MIN_CYCLE_FRAMES)
    return Timeline(frames=intervals + 1, fps=fps, duration=intervals / fps)


def smoothstep(x: Floats | float) -> Floats:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def keyed(u: Floats, keys: list[tuple[float, float]]) -> Floats:
    """A value eased (smoothstep) between (time, value) keys over normalised time u."""
    times = np.array([t for t, _ in keys])
    values = np.array([v for _, v in keys])
    segment = np.clip(np.searchsorted(times, u, side="right") - 1, 0, len(keys) - 2)
    span = np.maximum(times[segment + 1] - times[segment], 1e-12)
    local = smoothstep((u - times[segment]) / span)
    eased: Floats = values[segment] + (values[segment + 1] - values[segment]) * local
    return eased


def foot_track(gait: Gait, phase: Floats, ankle_rest: Floats, pivot_rest: Floats) -> FootTrack:
    """The foot over `phase` (0..1 per cycle, 0 = the foot touches down at the front of its stride)."""
    phase = np.mod(phase, 1.0)
    sweep = gait.duty * gait.stride  # how far the planted foot slides back relative to the body
    offset = ankle_rest - pivot_rest
    stance = phase < gait.duty
    s = np.where(stance, phase / gait.duty, 1.0)
    u = np.where(stance, 0.0, (phase - gait.duty) / (1.0 - gait.duty))

    def planted(progress: Floats) -> tuple[Floats, Floats]:
        roll = gait.heel_roll * smoothstep((progress - HEEL_OFF) / (1.0 - HEEL_OFF))
        pivot = np.broadcast_to(pivot_rest, (len(progress), 3)).copy()
        pivot[:, 2] += 0.5 * sweep - sweep * progress
        return pivot + quat.rotate(quat.about_x(roll), offset), roll

    stance_ankle, stance_roll = planted(s)
    lift_off, _ = planted(np.ones(1))
    touch_down, _ = planted(np.zeros(1))
    velocity = -sweep / gait.duty * (1.0 - gait.duty)  # dz/du at both ends of the swing
    # The foot rises off and sets down vertically, keeping still in the world (moving back at the
    # stance rate relative to the body) for the first and last `landing` share of the swing.
    landing = min(LANDING, LANDING_REACH * gait.duty / (1.0 - gait.duty))
    rising_z = lift_off[0, 2] + velocity * landing
    landing_z = touch_down[0, 2] - velocity * landing
    w = np.clip((u - landing) / (1.0 - 2.0 * landing), 0.0, 1.0)
    h00, h10, h01, h11 = 2 * w**3 - 3 * w**2 + 1, w**3 - 2 * w**2 + w, -2 * w**3 + 3 * w**2, w**3 - w**2
    tangent = velocity * (1.0 - 2.0 * landing)
    swing_ankle = np.broadcast_to(ankle_rest, (len(u), 3)).copy()
    swing_ankle[:, 2] = np.select(
        [u < landing, u > 1.0 - landing],
        [lift_off[0, 2] + velocity * u, touch_down[0, 2] + velocity * (u - 1.0)],
        h00 * rising_z + h10 * tangent + h01 * landing_z + h11 * tangent,
    )
    ease = smoothstep(u)
    swing_ankle[:, 1] = (
        lift_off[0, 1] + (touch_down[0, 1] - lift_off[0, 1]) * ease + gait.lift * 16 * u**2 * (1 - u) ** 2
    )
    swing_roll = gait.heel_roll * (1.0 - smoothstep(u / 0.5))
    ankle = np.where(stance[:, None], stance_ankle, swing_ankle)
    pitch = np.where(stance, stance_roll, swing_roll)
    toe_pitch = np.where(stance, 0.0, swing_roll * smoothstep(u / 0.25))
    return FootTrack(ankle=ankle, pitch=pitch, toe_pitch=toe_pitch)


def still_ends(x: Floats | float) -> Floats:
    """A septic ease from 0 to 1 with zero slope, curvature and jerk at both ends: a hoof eases out
    of and into stillness over the ground, barely moving while it is still low."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x**4 * (35.0 + x * (-84.0 + x * (70.0 - 20.0 * x)))


def hoof_track(gait: Gait, phase: Floats, ankle_rest: Floats, pivot_rest: Floats) -> FootTrack:
    """A hoof or paw over `phase` (0 = touch-down).

    Stance: flat and fixed in the world, so the ankle and the toe both hold still while the body
    travels over them. Swing: the hoof first breaks over its toe (the heel rising by `heel_roll`,
    the toe staying put), then lifts and swings forward, easing out of and into stillness over the
    ground, flattens by mid-swing and comes down flat and vertically where the stance begins.
    Positions and velocities are continuous, across the loop too.
    """
    phase = np.mod(phase, 1.0)
    sweep = gait.duty * gait.stride
    stance = phase < gait.duty
    s = np.where(stance, phase / gait.duty, 1.0)
    u = np.where(stance, 0.0, (phase - gait.duty) / (1.0 - gait.duty))
    ground = -sweep / gait.duty * (1.0 - gait.duty)  # the ground's z rate under the body per unit of swing
    offset = ankle_rest - pivot_rest

    ankle = np.broadcast_to(ankle_rest, (len(phase), 3)).copy()
    ankle[:, 2] += 0.5 * sweep - sweep * s
    breaking_share = min(MAX_BREAK_OVER, BREAK_OVER * gait.duty / (1.0 - gait.duty))
    breaking = ~stance & (u < breaking_share)
    roll = gait.heel_roll * smoothstep(u / breaking_share)
    toe = np.broadcast_to(pivot_rest, (len(phase), 3)).copy()
    toe[:, 2] += -0.5 * sweep + ground * u
    ankle[breaking] = (toe + quat.rotate(quat.about_x(roll), offset))[breaking]

    broken = pivot_rest + quat.rotate(quat.about_x(gait.heel_roll), offset)  # the ankle when it lifts
    broken[2] += -0.5 * sweep + ground * breaking_share
    x = np.clip((u - breaking_share) / (1.0 - breaking_share), 0.0, 1.0)
    over_ground = ankle_rest[2] + 0.5 * sweep - broken[2] - ground * (1.0 - breaking_share)
    flight = ~stance & ~breaking
    forward = over_ground * still_ends(x / (1.0 - SET_DOWN))
    ankle[flight, 2] = (broken[2] + ground * (u - breaking_share) + forward)[flight]
    lift = broken[1] + (ankle_rest[1] - broken[1]) * smoothstep(x) + gait.lift * 16 * x**2 * (1 - x) ** 2
    ankle[flight, 1] = lift[flight]
    flattening = gait.heel_roll * (1.0 - smoothstep(x / 0.5))
    pitch = np.where(breaking, roll, np.where(flight, flattening, 0.0))
    return FootTrack(ankle=ankle, pitch=pitch, toe_pitch=np.zeros(len(phase)), planted=stance)
