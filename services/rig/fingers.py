"""Finger chains on humanoid hands that can hold them, and their share of the Hand's skin weight.

This runs after the weight solver, so the solver still sees each arm as one chain of bones: the
fingers are appended to the fitted skeleton and take over the Hand's weight beyond their knuckles.

The hand is the surface the solver gave to {Side}Hand past the wrist plane, measured in the frame
of the Hand bone (wrist to the silhouette's tip): its length along the bone, and the width and
thickness of its cross-section (the two principal axes across the bone, 2nd to 98th percentile).
The wrist's radius is the median distance from the bone's axis of the ForeArm and Hand surface
within a thin slab around the wrist plane. With "auto", a hand gets fingers when it is
- at least MIN_LENGTH_RADII (5) wrist radii long: a human hand is about 7 (189 mm from wrist crease
  to fingertip over a 27 mm wrist radius); the mitten hands the procedural path draws measure 3.7
  to 4.1 (the elf mage, the capsule test figures), a shield on the forearm far less;
- at least MIN_FLATNESS (1.8) times as wide as it is thick: a palm across the knuckles is about 2.8
  (85 mm by 30 mm), those mittens 1.4 to 1.5;
- no longer than MAX_LENGTH_RADII (10) nor wider than MAX_WIDTH_RADII (6) wrist radii (a hand is
  about 3.1 wide): beyond that the Hand's surface includes something held (a shield, a sword),
  which says nothing about fingers.
"always" adds them anyway: on the measured hand when its measurements are a hand's, else by
proportion along the Hand bone.

Joints (proportions from hand anthropometry, as shares of the hand's length L and width W): the
four knuckles lie on an arc at about half the length, the fingers spread across the width and
split knuckle-to-tip 45/30/25; the thumb leaves the base of the palm on the thumb side, turned
40 degrees towards its edge, its metacarpal, proximal and distal bones 45/31/24 of 0.55 L, or of
less where that would leave the measured hand (a mitten or a paddle hand has no thumb sticking
out; a thumb on top of the index finger would take the index finger's weight). The thumb side is
the palm plane's width axis that points forward (+Z, which in an A- or T-pose with the palms down
or in is where a thumb points), or up (+Y) for a palm that faces forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import FINGERS, SIDES, finger_chain, finger_layout, joint_index
from services.rig.options import FingerMode
from services.rig.weights import Floats, segment_distances

WRIST_SLAB = 0.06  # half-thickness of the slab that measures the wrist, as a share of the forearm's length
MIN_SAMPLES = 8  # surface vertices a measurement needs
MIN_LENGTH_RADII = 5.0
MIN_FLATNESS = 1.8
MAX_LENGTH_RADII = 10.0
MAX_WIDTH_RADII = 6.0
FORWARD_THUMB = 0.3  # |cos| between the width axis and +Z above which +Z picks the thumb side (else +Y)
UNMEASURED_WIDTH, UNMEASURED_THICKNESS = 0.45, 0.16  # shares of the length when going by proportion

# finger -> (offset across from the hand's centre line, towards the thumb, in W; knuckle and tip in L):
# the four share the width evenly
FINGER_PLACES = {
    "Index": (0.375, 0.51, 0.94),
    "Middle": (0.125, 0.53, 1.0),
    "Ring": (-0.125, 0.51, 0.95),
    "Pinky": (-0.375, 0.48, 0.81),
}
PHALANGES = (0.45, 0.30, 0.25)
THUMB_BASE = (0.30, 0.10)  # across (W), along (L)
THUMB_LENGTH = 0.55  # L, or less where it would leave the hand's measured width
THUMB_PHALANGES = (0.45, 0.31, 0.24)
THUMB_SPREAD_DEGREES = 40.0  # from the hand's axis towards the thumb side
TIP_LEAF = 0.25  # the tip's leaf bone, as a share of the distal phalanx
KNUCKLE_BAND = 0.5  # the Hand-to-finger blend spans this share of the first phalanx, centred on the knuckle
JOINT_BAND = 0.25  # two phalanges blend over this share of the shorter one on each side of their joint


@dataclass(frozen=True)
class Hand:
    """A hand's frame and size. origin: the wrist moved to the middle of the hand's cross-section."""

    origin: Floats
    along: Floats  # unit, wrist to fingertips
    across: Floats  # unit, towards the thumb, in the palm plane
    length: float
    width: float
    thickness: float
    wrist_radius: float | None  # None: no surface around the wrist to measure
    measured: bool  # False: length from the Hand bone, width and thickness by proportion

    @property
    def reach(self) -> float:
        """How far from its chain a finger takes weight in full (it fades out over as far again)."""
        return max(0.25 * self.width, 0.75 * self.thickness)


def add_fingers(
    points: Floats, dense: Floats, skeleton: Skeleton, mode: FingerMode, notes: list[str]
) -> tuple[Skeleton, Floats]:
    """The skeleton with finger chains on the hands that get them (see the module docstring), and
    the dense (points, joints) weights with their columns, the Hand's weight split among them."""
    if mode == "never":
        return skeleton, dense
    owner = np.argmax(dense, axis=1)
    hands: dict[str, Hand] = {}
    for side in SIDES:
        hand = measure_hand(points, owner, skeleton, side)
        problem = unfit_reason(hand)
        if mode == "auto" and problem is not None:
            notes.append(f"rig: no fingers on the {side.lower()} hand: {problem}")
            continue
        if problem is not None and hand.measured and _holds_something(hand):
            hand = proportional_hand(skeleton, side, hand.wrist_radius)
        hands[side] = hand
    if not hands:
        return skeleton, dense
    fingered = with_fingers(skeleton, {side: finger_bones(hand, side) for side, hand in hands.items()})
    weights = np.zeros((len(points), fingered.joint_count))
    weights[:, : skeleton.joint_count] = dense
    for side, hand in hands.items():
        split_hand_weights(points, weights, fingered, side, hand.reach)
    notes.append(f"rig: fingers on the {' and '.join(side.lower() for side in hands)} hand(s)")
    return fingered, weights


def measure_hand(points: Floats, owner: Floats, skeleton: Skeleton, side: str) -> Hand:
    """The hand of `side` measured from the surface points whose largest weight (`owner`) is its Hand
    or ForeArm; by proportion along the Hand bone where too few points lie beyond the wrist."""
    hand, forearm = joint_index(skeleton, f"{side}Hand"), joint_index(skeleton, f"{side}ForeArm")
    wrist = skeleton.heads[hand].astype(np.float64)
    along = _unit(skeleton.tails[hand] - wrist)
    offset = points - wrist
    depth = offset @ along
    lateral = offset - depth[:, None] * along
    forearm_length = float(np.linalg.norm(wrist - skeleton.heads[forearm]))
    ring = np.isin(owner, (hand, forearm)) & (np.abs(depth) <= WRIST_SLAB * forearm_length)
    radius = float(np.median(np.linalg.norm(lateral[ring], axis=1))) if ring.sum() >= MIN_SAMPLES else None
    beyond = (owner == hand) & (depth > 0)
    if beyond.sum() < MIN_SAMPLES:
        return proportional_hand(skeleton, side, radius)
    length = float(depth[beyond].max())
    body = beyond & (depth > 0.25 * length)  # palm and fingers, clear of the wrist's taper
    if body.sum() < MIN_SAMPLES:
        return proportional_hand(skeleton, side, radius)
    centre = lateral[body].mean(axis=0)
    spread = lateral[body] - centre
    _, axes = np.linalg.eigh(spread.T @ spread)  # ascending; the smallest is `along` itself
    width, thickness = (float(np.ptp(np.percentile(spread @ axes[:, k], [2, 98]))) for k in (2, 1))
    across = axes[:, 2] if width >= MIN_FLATNESS * thickness else _default_across(along)
    return Hand(
        origin=wrist + centre,
        along=along,
        across=_thumb_side(across),
        length=length,
        width=width,
        thickness=thickness,
        wrist_radius=radius,
        measured=True,
    )


def proportional_hand(skeleton: Skeleton, side: str, wrist_radius: float | None) -> Hand:
    """A hand along the Hand bone, as long as the bone, palm facing down or in, thumb forward."""
    hand = joint_index(skeleton, f"{side}Hand")
    wrist = skeleton.heads[hand].astype(np.float64)
    along = skeleton.tails[hand] - wrist
    length = max(float(np.linalg.norm(along)), 1e-6)
    return Hand(
        origin=wrist,
        along=_unit(along),
        across=_default_across(_unit(along)),
        length=length,
        width=UNMEASURED_WIDTH * length,
        thickness=UNMEASURED_THICKNESS * length,
        wrist_radius=wrist_radius,
        measured=False,
    )


def unfit_reason(hand: Hand) -> str | None:
    """Why the hand cannot hold fingers (None: it can)."""
    radius = hand.wrist_radius
    if not hand.measured or radius is None or radius <= 0:
        return "its shape could not be measured"
    if _holds_something(hand):
        return (
            f"its surface reaches {hand.length / radius:.1f} wrist radii along and {hand.width / radius:.1f} "
            f"across (a hand at most {MAX_LENGTH_RADII:g} and {MAX_WIDTH_RADII:g}): it holds something"
        )
    if hand.length < MIN_LENGTH_RADII * radius:
        return f"it is {hand.length / radius:.1f} wrist radii long (fingers need {MIN_LENGTH_RADII:g})"
    if hand.width < MIN_FLATNESS * hand.thickness:
        return (
            f"it is {hand.width / max(hand.thickness, 1e-9):.2f} times as wide as thick "
            f"(fingers need {MIN_FLATNESS:g})"
        )
    return None


def finger_bones(hand: Hand, side: str) -> dict[str, tuple[Floats, Floats]]:
    """Finger joint name -> (head, tail) for one hand (see the module docstring)."""

    def at(along: float, across: float) -> Floats:
        point: Floats = hand.origin + along * hand.length * hand.along + across * hand.width * hand.across
        return point

    bones: dict[str, tuple[Floats, Floats]] = {}
    for finger, (across, knuckle, tip) in FINGER_PLACES.items():
        bones |= _chain(finger_chain(side, finger), at(knuckle, across), at(tip, across), PHALANGES)
    base_across, base_along = THUMB_BASE
    spread = math.radians(THUMB_SPREAD_DEGREES)
    room = (0.5 - base_across) * hand.width / math.sin(spread)  # from its base to the hand's edge
    length = min(THUMB_LENGTH * hand.length, room)
    direction = math.cos(spread) * hand.along + math.sin(spread) * hand.across
    base = at(base_along, base_across)
    bones |= _chain(finger_chain(side, "Thumb"), base, base + length * direction, THUMB_PHALANGES)
    return bones


def with_fingers(skeleton: Skeleton, bones: dict[str, dict[str, tuple[Floats, Floats]]]) -> Skeleton:
    """The skeleton with the finger chains of each side in `bones` appended (parents stay first)."""
    names, parents = list(skeleton.names), list(skeleton.parents.tolist())
    heads, tails = [skeleton.heads.astype(np.float64)], [skeleton.tails.astype(np.float64)]
    for side, placed in bones.items():
        for name, parent in finger_layout(side):
            assert parent is not None
            parents.append(names.index(parent))
            names.append(name)
            heads.append(placed[name][0][None])
            tails.append(placed[name][1][None])
    return replace(
        skeleton,
        names=names,
        parents=np.array(parents, dtype=np.int32),
        heads=np.concatenate(heads).astype(np.float32),
        tails=np.concatenate(tails).astype(np.float32),
    )


def split_hand_weights(points: Floats, dense: Floats, skeleton: Skeleton, side: str, reach: float) -> None:
    """Hand the {side}Hand weight of the points past a finger's knuckle to that finger, in place.

    Each point goes to its nearest finger chain; its share s ramps from 0 to 1 across the knuckle
    (the thumb's is its MCP joint, Thumb2) and fades out between `reach` and twice that from the
    chain, so a held item keeps following the Hand. The finger's part of the weight lies on one
    phalanx, or two near the joint between them, by where the point's closest chain point is.
    Row sums do not change; no other joint's weight does either.
    """
    hand = joint_index(skeleton, f"{side}Hand")
    rows = np.flatnonzero(dense[:, hand] > 0)
    if len(rows) == 0:
        return
    chains = [[joint_index(skeleton, name) for name in finger_chain(side, finger)] for finger in FINGERS]
    knuckles = [1 if finger == "Thumb" else 0 for finger in FINGERS]
    located = [
        _along_chain(points[rows], skeleton.heads[chain].astype(np.float64), knuckle)
        for chain, knuckle in zip(chains, knuckles, strict=True)
    ]
    distance = np.stack([found[0] for found in located], axis=1)
    nearest = np.argmin(distance, axis=1)
    carried = dense[rows, hand].copy()
    fade = np.clip(2.0 - distance[np.arange(len(rows)), nearest] / max(reach, 1e-9), 0.0, 1.0)
    for finger, chain in enumerate(chains):
        mine = nearest == finger
        _, position, knuckle_depth, lengths = located[finger]
        band = KNUCKLE_BAND * lengths[knuckles[finger]]
        share = _smoothstep(knuckle_depth[mine] / band + 0.5) * fade[mine]
        joints_at = np.cumsum(lengths)[:2]
        bands = JOINT_BAND * np.minimum(lengths[:2], lengths[1:])
        ramps = [_ramp(position[mine], at, width) for at, width in zip(joints_at, bands, strict=True)]
        phalanx = (1.0 - ramps[0], ramps[0] - ramps[1], ramps[1])
        taken = carried[mine] * share
        for joint, part in zip(chain[:3], phalanx, strict=True):
            dense[rows[mine], joint] += taken * part
        dense[rows[mine], hand] -= taken


def _along_chain(points: Floats, joints: Floats, knuckle: int) -> tuple[Floats, Floats, Floats, Floats]:
    """For a finger's four joint heads: each point's distance to the chain, the arc length of its
    closest chain point, its signed depth past the plane through joint `knuckle` across the bone
    that leaves it, and the three bones' lengths."""
    heads, tails = joints[:-1], joints[1:]
    lengths = np.linalg.norm(tails - heads, axis=1)
    distance, closest = segment_distances(points, heads, tails)
    segment = np.argmin(distance, axis=1)
    rows = np.arange(len(points))
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    position = starts[segment] + np.linalg.norm(closest[rows, segment] - heads[segment], axis=1)
    depth = (points - heads[knuckle]) @ _unit(tails[knuckle] - heads[knuckle])
    return distance[rows, segment], position, depth, lengths


def _holds_something(hand: Hand) -> bool:
    radius = hand.wrist_radius
    return (
        radius is not None
        and radius > 0
        and (hand.length > MAX_LENGTH_RADII * radius or hand.width > MAX_WIDTH_RADII * radius)
    )


def _chain(
    names: tuple[str, ...], start: Floats, end: Floats, shares: tuple[float, ...]
) -> dict[str, tuple[Floats, Floats]]:
    """Bones names[0..2] from start to end split by `shares`, and the tip's leaf names[3]."""
    cuts = np.concatenate([[0.0], np.cumsum(shares)])
    points = [start + (end - start) * cut for cut in cuts]
    leaf = end + TIP_LEAF * (points[-1] - points[-2])
    points.append(leaf)
    return {name: (points[i], points[i + 1]) for i, name in enumerate(names)}


def _default_across(along: Floats) -> Floats:
    """+Z (else +Y) made perpendicular to the hand's axis."""
    for reference in ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)):
        across = np.asarray(reference) - np.dot(reference, along) * along
        if np.linalg.norm(across) > 1e-3:
            return _unit(across)
    return _unit(np.cross(along, (1.0, 0.0, 0.0)))


def _thumb_side(across: Floats) -> Floats:
    """The width axis signed towards the thumb: forward (+Z), or up (+Y) when it lies nearly across Z."""
    reference = 2 if abs(across[2]) >= FORWARD_THUMB else 1
    return across if across[reference] >= 0 else -across


def _ramp(values: Floats, at: float, half_width: float) -> Floats:
    ramp: Floats = np.clip((values - (at - half_width)) / max(2.0 * half_width, 1e-12), 0.0, 1.0)
    return ramp


def _smoothstep(values: Floats) -> Floats:
    t = np.clip(values, 0.0, 1.0)
    smooth: Floats = t * t * (3.0 - 2.0 * t)
    return smooth


def _unit(vector: Floats) -> Floats:
    vector = np.asarray(vector, dtype=np.float64)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
