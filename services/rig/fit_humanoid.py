"""Fit a Mixamo-style humanoid skeleton to a T/A-pose mesh from its own shape.

The front view's medial axis gives the five extremities (head, two hands, two feet) and the
two junctions where they meet (pelvis, shoulders). Along those runs:
- the crotch is the top of the gap between the legs, the hips sit one leg radius above it;
- the shoulder joint is where the arm's run leaves the torso (its thickness drops to the arm's);
- the neck is the thinnest point between the shoulders and the head, the head top its highest pixel;
- wrists are the arm's waist before the hand when there is one, ankles the top of the foot's
  forward bulge in the leg's side view, toes its front; elbows and knees split those runs.
Joints are lifted to the middle of the solid behind each pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import HUMANOID_LAYOUT, SIDES
from assetcore.worker.backend import ErrorCode, StepError
from services.rig.medial import MedialGraph, medial_graph
from services.rig.placement import Placement
from services.rig.projection import Bools, Floats, Ints, MedialPath, Projection
from services.rig.voxels import VoxelGrid

MIN_ARM_LENGTH = 0.2  # an arm's run from the spine is at least this share of the figure's height
_STEP = 6  # medial-axis pixels over which a run's direction is measured
_SHARP_TURN = math.cos(math.radians(50))


@dataclass(frozen=True)
class _Frame:
    """The front-view medial graph with the nodes every landmark is measured from."""

    front: Projection
    graph: MedialGraph
    centre: float  # pixel column of the body's mid-plane (the head's centre)
    height: float  # of the silhouette, pixels
    head: int
    feet: dict[str, int]
    hands: dict[str, int]


def fit_humanoid(grid: VoxelGrid, notes: list[str]) -> Skeleton:
    """The humanoid skeleton of the solid in `grid`; `notes` receives what fell back to proportions."""
    frame = _find_extremities(grid)
    graph, front = frame.graph, frame.front
    placed = Placement(notes)
    spine_nodes, legs = _spine_and_legs(frame)
    crotch = _crotch_row(front, graph.pixels[spine_nodes[0]].astype(np.float64), graph.radius[spine_nodes[0]])
    leg_paths = {side: MedialPath.of(graph, nodes) for side, nodes in legs.items()}
    leg_radius = float(
        np.median(np.concatenate([path.radius_between(0.3, 0.8) for path in leg_paths.values()]))
    )
    hip_row = crotch + 0.6 * leg_radius
    for side, path in leg_paths.items():
        _fit_leg(grid, front, path, _Leg(side, hip_row, leg_radius), placed)
    shoulder_fraction, arms = _arms(frame, spine_nodes)
    spine = MedialPath.of(graph, spine_nodes)
    neck_row = _fit_spine(front, spine, (shoulder_fraction, crotch + 1.5 * leg_radius), placed)
    for side, nodes in arms.items():
        _fit_arm(front, MedialPath.of(graph, nodes), (side, neck_row), placed)
    placed.symmetrize(float(front.to_model(np.array([frame.centre, 0.0]))[0]), tolerance=2.5 * grid.pitch)
    return placed.skeleton(HUMANOID_LAYOUT)


@dataclass(frozen=True)
class _Leg:
    side: str
    hip_row: float  # front-view row of the hip joints
    radius: float  # the legs' typical half-thickness, pixels


def _not_humanoid(what: str) -> StepError:
    return StepError(
        ErrorCode.INVALID_INPUT,
        f"mesh: cannot fit a humanoid skeleton: {what} (expected a T/A-pose figure facing +Z on y = 0)",
    )


def _find_extremities(grid: VoxelGrid) -> _Frame:
    front = Projection.along(grid, hidden=2)
    graph = medial_graph(front.mask)
    if graph.size < 10:
        raise _not_humanoid("the front silhouette is too small")
    pixels = graph.pixels.astype(np.float64)
    rows = np.flatnonzero(front.mask.any(axis=0))
    top, bottom = float(rows.max()), float(rows.min())
    head_rows = front.mask[:, int(top - 0.1 * (top - bottom)) :]
    centre = float(np.median(np.nonzero(head_rows)[0]))
    near_centre = np.abs(pixels[:, 0] - centre) < 0.15 * (top - bottom)  # not a raised staff's tip
    head = int(np.flatnonzero(near_centre)[np.argmax(pixels[near_centre, 1])]) if near_centre.any() else 0
    feet = _feet(graph, head, centre, (bottom, top))
    pelvis_row = max(pixels[feet[side], 1] for side in SIDES) + 0.3 * (top - bottom)
    above = pixels[:, 1] > pelvis_row
    hands = {
        side: _hand(sign * (pixels[:, 0] - centre), above)
        for side, sign in zip(SIDES, (1.0, -1.0), strict=True)
    }
    return _Frame(
        front=front, graph=graph, centre=centre, height=top - bottom, head=head, feet=feet, hands=hands
    )


def _hand(outwards: Floats, above_pelvis: Bools) -> int:
    """One side's arm extremity: the medial-axis node above the pelvis reaching farthest out."""
    candidates = np.flatnonzero(above_pelvis)
    return int(candidates[np.argmax(outwards[candidates])])


def _cut_at_turn(graph: MedialGraph, nodes: Ints) -> Ints:
    """An arm's run up to the first junction in its outer part where it turns sharply: past the
    hand it would follow something held (a staff, a spear) instead of the arm."""
    pixels = graph.pixels[nodes].astype(np.float64)
    degree = graph.degree()[nodes]
    for i in range(max(_STEP, int(0.4 * len(nodes))), len(nodes) - _STEP):
        if degree[i] >= 3:
            incoming, outgoing = pixels[i] - pixels[i - _STEP], pixels[i + _STEP] - pixels[i]
            cosine = (
                incoming @ outgoing / max(float(np.linalg.norm(incoming) * np.linalg.norm(outgoing)), 1e-12)
            )
            if cosine < _SHARP_TURN:
                return nodes[: i + 1]
    return nodes


def _feet(graph: MedialGraph, head: int, centre: float, rows: tuple[float, float]) -> dict[str, int]:
    """The left and right foot: of the low extremities on each side, the pair whose paths to the head
    part lowest, at the pelvis (a staff standing on the floor parts from a foot at the hand)."""
    bottom, top = rows
    pixels = graph.pixels.astype(np.float64)
    low = pixels[:, 1] - bottom < 0.35 * (top - bottom)
    ends = graph.degree() <= 1
    to = graph.paths_from(head)
    candidates: dict[str, list[int]] = {}
    for side, sign in zip(SIDES, (1.0, -1.0), strict=True):  # the figure's left is +X
        on_side = sign * (pixels[:, 0] - centre) > 0
        nodes = np.flatnonzero(on_side & low & ends)
        if len(nodes) == 0:
            nodes = np.flatnonzero(on_side & low)
        if len(nodes) == 0:
            raise _not_humanoid(f"no {side.lower()} leg reaching the floor")
        candidates[side] = [int(node) for node in nodes]
    best: tuple[float, float, dict[str, int]] | None = None
    for left in candidates["Left"]:
        for right in candidates["Right"]:
            a, b = to(left), to(right)
            if len(a) == 0 or len(b) == 0:
                continue
            shared = 0
            while shared < min(len(a), len(b)) and a[shared] == b[shared]:
                shared += 1
            score = (float(pixels[a[shared - 1], 1]), float(pixels[left, 1] + pixels[right, 1]))
            if best is None or score < best[:2]:
                best = (*score, {"Left": left, "Right": right})
    if best is None:
        raise _not_humanoid("the legs are not connected to the body")
    return best[2]


def _spine_and_legs(frame: _Frame) -> tuple[Ints, dict[str, Ints]]:
    """The pelvis-to-head run and the pelvis-to-foot runs: the head-to-foot paths part at the pelvis."""
    to_feet = {side: frame.graph.path(frame.head, foot) for side, foot in frame.feet.items()}
    if any(len(path) == 0 for path in to_feet.values()):
        raise _not_humanoid("the legs are not connected to the body")
    left, right = to_feet["Left"], to_feet["Right"]
    shared = 0
    while shared < min(len(left), len(right)) and left[shared] == right[shared]:
        shared += 1
    if shared < 2 or shared >= min(len(left), len(right)):
        raise _not_humanoid("no pelvis where the legs meet")
    spine = left[:shared][::-1]
    legs = {side: path[shared - 1 :] for side, path in to_feet.items()}
    return spine, legs


def _crotch_row(front: Projection, pelvis: Floats, pelvis_radius: float) -> float:
    """The top of the gap between the legs, under the pelvis junction."""
    column = front.mask[round(float(pelvis[0])), : round(float(pelvis[1])) + 1]
    if not column[0] and column.any():
        return float(np.argmax(column))
    return float(pelvis[1] - pelvis_radius)


def _arms(frame: _Frame, spine_nodes: Ints) -> tuple[float, dict[str, Ints]]:
    """Arc fraction of the spine where the arms join it, and each junction-to-hand run."""
    spine = MedialPath.of(frame.graph, spine_nodes)
    position = {int(node): index for index, node in enumerate(spine_nodes)}
    arms: dict[str, Ints] = {}
    joins: list[float] = []
    for side, hand in frame.hands.items():
        path = frame.graph.path(frame.head, hand)
        if len(path) == 0:
            raise _not_humanoid(f"the {side.lower()} arm is not connected to the body")
        on_spine = [index for index, node in enumerate(path) if int(node) in position]
        join = on_spine[-1]
        joined_at = float(spine.arc[position[int(path[join])]] / max(spine.length, 1e-9))
        if (
            len(path) - join < 4
            or MedialPath.of(frame.graph, path[join:]).length < MIN_ARM_LENGTH * frame.height
        ):
            raise _not_humanoid(f"no {side.lower()} arm reaching out from the torso")
        arms[side] = _cut_at_turn(frame.graph, path[join:])
        joins.append(joined_at)
    return float(np.mean(joins)), arms


def _fit_spine(front: Projection, spine: MedialPath, rows: tuple[float, float], placed: Placement) -> float:
    """Hips, Spine..Spine2, Neck, Head, HeadTop_End along the pelvis-to-head run; returns the neck row.

    `rows` holds the arc fraction where the arms join the spine and the row of the hips joint.
    """
    shoulder_fraction, hips_row = rows
    head_start = shoulder_fraction + 0.5 * (1.0 - shoulder_fraction)
    radii = spine.radius_between(head_start, 1.0)
    head_widest = head_start + (1.0 - head_start) * float(np.argmax(radii)) / max(len(radii) - 1, 1)
    neck_fraction = spine.narrowest(shoulder_fraction, head_widest)
    if neck_fraction is None:
        neck_fraction = shoulder_fraction + 0.5 * (head_widest - shoulder_fraction)
        placed.estimate("head joint")
    head = spine.at(neck_fraction)
    neck = spine.at(shoulder_fraction + 0.5 * (neck_fraction - shoulder_fraction))
    top = front.march(spine.points[-1], np.array([0.0, 1.0]))
    points = [np.array([spine.points[0, 0], hips_row])]
    for t in (0.22, 0.45, 0.7):
        points.append(spine.at(spine.fraction_at_height(hips_row + t * (neck[1] - hips_row))))
    points += [neck, head, top]
    model_points = [front.to_model(point) for point in points]
    model_points.append(model_points[-1] + [0.0, 0.02 * _span(front), 0.0])
    placed.chain(("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End"), model_points)
    return float(neck[1])


def _fit_arm(front: Projection, arm: MedialPath, where: tuple[str, float], placed: Placement) -> None:
    """Shoulder (clavicle), Arm, ForeArm, Hand along the junction-to-hand run of side `where[0]`;
    the clavicle starts halfway up to the neck row `where[1]`."""
    side, neck_row = where
    arm_radius = float(np.median(arm.radius_between(0.4, 0.75)))
    leaves_torso = arm.fraction_where_below(1.25 * arm_radius) * arm.length
    shoulder_arc = max(leaves_torso - 0.5 * arm_radius, 0.15 * arm.length)
    back = arm.at_length(arm.length - 3.0 * arm_radius)
    tip = front.march(arm.points[-1], arm.points[-1] - back)
    reach = arm.length + float(np.linalg.norm(tip - arm.points[-1]))

    def along(arc: float) -> Floats:
        if arc <= arm.length:
            return arm.at_length(arc)
        stretched = (tip - arm.points[-1]) * (arc - arm.length)
        beyond: Floats = arm.points[-1] + stretched / max(reach - arm.length, 1e-9)
        return beyond

    span = reach - shoulder_arc
    last = min((shoulder_arc + 0.92 * span) / arm.length, 1.0)
    waist = arm.narrowest((shoulder_arc + 0.55 * span) / arm.length, last)
    if waist is None:
        wrist_arc = shoulder_arc + 0.78 * span
        placed.estimate(f"{side.lower()} wrist")
    else:
        wrist_arc = waist * arm.length
    shoulder, wrist = along(shoulder_arc), along(wrist_arc)
    elbow = along(shoulder_arc + 0.55 * (wrist_arc - shoulder_arc))
    clavicle = np.array(
        [arm.points[0, 0] + 0.2 * (shoulder[0] - arm.points[0, 0]), 0.5 * (shoulder[1] + neck_row)]
    )
    names = tuple(side + part for part in ("Shoulder", "Arm", "ForeArm", "Hand"))
    placed.chain(names, [front.to_model(point) for point in (clavicle, shoulder, elbow, wrist, tip)])


def _fit_leg(grid: VoxelGrid, front: Projection, leg: MedialPath, where: _Leg, placed: Placement) -> None:
    """UpLeg, Leg, Foot, ToeBase, Toe_End from the pelvis-to-foot run and the foot's side profile."""
    radius, hip_row = where.radius, where.hip_row
    thigh = leg.at(leg.fraction_at_height(hip_row - 2.0 * radius))
    foot = _foot_profile(grid, leg.points[-1][0], radius, hip_row)
    forward = np.array([0.0, 0.0, radius * grid.pitch])
    if foot is None:
        placed.estimate(f"{where.side.lower()} ankle")
        ankle_row = max(radius, 0.06 * hip_row)
        ankle = front.to_model(leg.at(leg.fraction_at_height(ankle_row)))
        toe = ankle + 2.5 * forward - [0.0, 0.5 * ankle_row * grid.pitch, 0.0]
        ball = ankle + 0.6 * (toe - ankle)
    else:
        ankle_row, ankle_depth, ball_at, toe_at = foot
        ankle = front.to_model(leg.at(leg.fraction_at_height(ankle_row)), depth=ankle_depth)
        ball = grid.centres(np.array([leg.points[-1][0], *ball_at]))
        toe = grid.centres(np.array([leg.points[-1][0], *toe_at]))
    knee_row = 0.5 * (hip_row + ankle_row)
    knee = (
        front.to_model(leg.at(leg.fraction_at_height(knee_row))) + 0.2 * forward
    )  # hints the bend direction
    hip = front.to_model(np.array([thigh[0], hip_row]))
    names = tuple(where.side + part for part in ("UpLeg", "Leg", "Foot", "ToeBase", "Toe_End"))
    placed.chain(names, [hip, knee, ankle, ball, toe, toe + 0.5 * forward])


def _foot_profile(
    grid: VoxelGrid, column: float, leg_radius: float, hip_row: float
) -> tuple[float, float, tuple[float, float], tuple[float, float]] | None:
    """From the side view of one leg: ankle row, ankle depth, ball (row, depth) and toe (row, depth).

    The foot is the forward bulge at the bottom of the leg: rows whose front edge lies well in front
    of the shin's. None when there is no such bulge.
    """
    low = max(int(np.floor(column - 1.5 * leg_radius)), 0)
    high = min(int(np.ceil(column + 1.5 * leg_radius)) + 1, grid.shape[0])
    side = grid.occupied[low:high].any(axis=0)  # (rows, depth)
    filled = side.any(axis=1)
    depth = side.shape[1]
    front_edge = np.where(filled, depth - 1 - np.argmax(side[:, ::-1], axis=1), -1).astype(np.float64)
    back_edge = np.where(filled, np.argmax(side, axis=1), -1).astype(np.float64)
    shin_rows = np.arange(int(0.2 * hip_row), int(0.4 * hip_row) + 1)
    shin_rows = shin_rows[filled[shin_rows]] if len(shin_rows) else shin_rows
    floor = int(np.argmax(filled))
    if len(shin_rows) == 0:
        return None
    shin_front = float(np.median(front_edge[shin_rows]))
    bulge = floor
    while (
        bulge < len(filled) and filled[bulge] and front_edge[bulge] > shin_front + max(1.0, 0.5 * leg_radius)
    ):
        bulge += 1
    if bulge - floor < 2:
        return None
    rows = np.arange(floor, bulge)
    toe_depth = float(front_edge[rows].max())
    toe_row = float(rows[np.argmax(front_edge[rows])])
    heel = float(back_edge[rows].min())
    ankle_row = float(bulge)
    above = min(bulge + 1, len(filled) - 1)
    ankle_depth = 0.5 * (front_edge[above] + back_edge[above])
    ball = (floor + 0.4 * (ankle_row - floor), heel + 0.72 * (toe_depth - heel))
    return ankle_row, ankle_depth, ball, (toe_row, toe_depth)


def _span(front: Projection) -> float:
    """The silhouette's height in metres."""
    rows = np.flatnonzero(front.mask.any(axis=0))
    return float((rows.max() - rows.min() + 1) * front.grid.pitch)
