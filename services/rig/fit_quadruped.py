"""Fit a quadruped skeleton (see assetcore.geometry.skeleton) to a mesh from its own shape.

The mesh faces +Z and stands on y = 0 on four separate legs:
- horizontal cross-sections from the floor up show the legs as separate blobs until the
  belly, where they merge into the body; the blobs split into front/hind by depth and
  left/right by the mid-plane, and each leg's centre line is tracked row by row;
- the body's centre line in the side view (middle of the solid above the belly) carries the
  spine from the hips (over the hind legs) to the chest (over the front legs);
- the side view's medial axis leads from the chest to the muzzle tip (its front-most point):
  the neck starts where that run leaves the body's thickness, the head at its waist; and from
  the hips to the rear-most point: a tail when the run there is much thinner than the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import QUADRUPED_LEGS, quadruped_layout
from assetcore.worker.backend import ErrorCode, StepError
from services.rig.medial import MedialGraph, medial_graph
from services.rig.placement import Placement
from services.rig.projection import Bools, Floats, Ints, MedialPath, Projection
from services.rig.voxels import VoxelGrid

TAIL_JOINTS = 3


@dataclass(frozen=True)
class _Leg:
    rows: Floats  # (R,) voxel rows from the floor to the belly
    centres: Floats  # (R, 2) the leg's (x, z) centre in voxels on each row
    radius: float  # voxels


def fit_quadruped(grid: VoxelGrid, notes: list[str]) -> Skeleton:
    """The quadruped skeleton of the solid in `grid`; `notes` receives what fell back to proportions."""
    floor, belly, legs = _find_legs(grid)
    side = Projection.along(grid, hidden=0)  # mask[z, y]
    trunk = _Trunk(floor, belly, _body_middle(side.mask, belly))
    centre_x = float(np.mean(np.nonzero(grid.occupied)[0]))
    placed = Placement(notes)

    def on_midline(points: list[Floats]) -> list[Floats]:
        """Side-view pixels (z, y) -> model points on the mid-plane."""
        return [grid.centres(np.array([centre_x, y, z])) for z, y in points]

    depths = {
        end: float(np.mean([legs[name].centres[-1, 1] for name in QUADRUPED_LEGS if name.startswith(end)]))
        for end in ("Hind", "Front")
    }
    spine = [np.array([z, trunk.middle(z)]) for z in np.linspace(depths["Hind"], depths["Front"], 4)]
    graph = medial_graph(side.mask)
    neck, head, muzzle = _neck_and_head(side, graph, spine[-1], placed)
    placed.chain(
        ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head"), on_midline([*spine, neck, head, muzzle])
    )
    tail = _tail(side, graph, spine[0], notes)
    placed.chain([f"Tail{i}" for i in range(1, len(tail))], on_midline(tail))
    for name, leg in legs.items():
        _fit_leg(grid, name, leg, trunk, placed)
    placed.symmetrize(float(grid.centres(np.array([centre_x, 0, 0]))[0]), tolerance=2.5 * grid.pitch)
    return placed.skeleton(quadruped_layout(max(len(tail) - 1, 0)))


@dataclass(frozen=True)
class _Trunk:
    floor: int  # lowest occupied voxel row
    belly: int  # first row where the legs have merged into the body
    middle: Callable[[float], float]  # side-view depth z -> the row halfway through the body there


def _not_quadruped(what: str) -> StepError:
    return StepError(
        ErrorCode.INVALID_INPUT,
        f"mesh: cannot fit a quadruped skeleton: {what} (expected four legs on y = 0, head towards +Z)",
    )


def _blobs(section: Bools) -> tuple[Ints, list[int]]:
    """Labelled connected parts of a horizontal section, and the labels big enough to be limbs."""
    labels, count = ndimage.label(section)
    if count == 0:
        return labels, []
    areas = np.bincount(labels.ravel())[1:]
    return labels, [i + 1 for i in range(count) if areas[i] >= max(2, 0.1 * areas.max())]


def _find_legs(grid: VoxelGrid) -> tuple[int, int, dict[str, _Leg]]:
    """Floor row, belly row and the four legs' centre lines."""
    rows = np.flatnonzero(grid.occupied.any(axis=(0, 2)))
    floor = int(rows.min())
    belly = None
    for row in range(floor, int(rows.max()) + 1):
        if len(_blobs(grid.occupied[:, row, :])[1]) <= 1:
            belly = row
            break
    if belly is None or belly - floor < 3:
        raise _not_quadruped("no separate legs under the body")
    reference = floor + int(0.3 * (belly - floor))
    labels, blobs = _blobs(grid.occupied[:, reference, :])
    centre_x = float(np.mean(np.nonzero(grid.occupied)[0]))
    feet = _assign_legs(labels, blobs, centre_x)
    legs = {}
    for name, foot in feet.items():
        legs[name] = _track(grid, foot, (floor, belly), reference, centre_x)
    return floor, belly, legs


def _assign_legs(labels: Ints, blobs: list[int], centre_x: float) -> dict[str, tuple[Floats, float]]:
    """Each leg's (x, z) centre and radius on the reference section: front/hind by the largest gap
    in depth, left/right by the mid-plane (a blob spanning both sides is split there)."""
    parts = [np.argwhere(labels == blob).astype(np.float64) for blob in blobs]
    depths = np.array([part[:, 1].mean() for part in parts])
    order = np.argsort(depths)
    gaps = np.diff(depths[order])
    if len(gaps) == 0 or gaps.max() < 2.0:
        raise _not_quadruped("the legs do not split into front and hind pairs")
    cut = int(np.argmax(gaps)) + 1
    groups = {"Hind": [parts[i] for i in order[:cut]], "Front": [parts[i] for i in order[cut:]]}
    legs: dict[str, tuple[Floats, float]] = {}
    for end, group in groups.items():
        voxels = np.concatenate(group)
        for side, sign in (("Left", 1.0), ("Right", -1.0)):  # the animal's left is +X
            half = voxels[sign * (voxels[:, 0] - centre_x) > 0]
            if len(half) == 0:
                raise _not_quadruped(f"no {end.lower()} {side.lower()} leg")
            legs[f"{end}{side}"] = (half.mean(axis=0), float(np.sqrt(len(half) / np.pi)))
    return legs


def _track(
    grid: VoxelGrid, foot: tuple[Floats, float], rows: tuple[int, int], reference: int, centre_x: float
) -> _Leg:
    """Follow a leg's centre (`foot`: its (x, z) centre and radius on the reference row) up to the
    belly and down to the floor (`rows`): the centroid of its voxels near the previous row's centre,
    kept on its own side of the mid-plane."""
    start, radius = foot
    floor, belly = rows
    window = 1.5 * radius + 1.0
    side = np.sign(start[0] - centre_x)
    centres: dict[int, Floats] = {reference: start}
    for direction, stop in ((1, belly), (-1, floor - 1)):
        current = start
        for row in range(reference + direction, stop, direction):
            voxels = np.argwhere(grid.occupied[:, row, :]).astype(np.float64)
            near = voxels[np.sum((voxels - current) ** 2, axis=1) <= window**2]
            near = near[np.sign(near[:, 0] - centre_x) == side]
            if len(near):
                current = near.mean(axis=0)
            centres[row] = current
    tracked = sorted(centres)
    return _Leg(
        rows=np.array(tracked, dtype=np.float64),
        centres=np.array([centres[row] for row in tracked]),
        radius=radius,
    )


def _body_middle(side_mask: Bools, belly: int) -> Callable[[float], float]:
    """A function z -> the row halfway between the body's bottom and top at depth z (side view)."""
    columns = np.flatnonzero(side_mask[:, belly:].any(axis=1))
    tops = np.array([belly + np.flatnonzero(side_mask[z, belly:]).max() for z in columns], dtype=np.float64)
    bottoms = np.array(
        [belly + np.flatnonzero(side_mask[z, belly:]).min() for z in columns], dtype=np.float64
    )

    def middle(z: float) -> float:
        return float(np.interp(z, columns, 0.5 * (tops + bottoms)))

    return middle


def _neck_and_head(
    side: Projection, graph: MedialGraph, chest: Floats, placed: Placement
) -> tuple[Floats, Floats, Floats]:
    """Neck and head joints and the muzzle tip (side-view pixels (z, y)) on the chest-to-muzzle run."""
    pixels = graph.pixels.astype(np.float64)
    start = int(np.argmin(np.sum((pixels - chest) ** 2, axis=1)))
    tip = int(np.argmax(pixels[:, 0] - 1e-3 * np.abs(pixels[:, 1] - chest[1])))
    nodes = graph.path(start, tip)
    if len(nodes) < 4:
        raise _not_quadruped("no head in front of the chest")
    run = MedialPath.of(graph, nodes)
    neck = run.fraction_where_below(0.75 * float(run.radius[0]))
    waist = run.narrowest(neck, 0.9)
    if waist is None:
        waist = neck + 0.5 * (1.0 - neck)
        placed.estimate("head joint")
    muzzle = side.march(run.points[-1], run.points[-1] - run.at(0.9))
    return run.at(neck), run.at(waist), muzzle


def _tail(side: Projection, graph: MedialGraph, hips: Floats, notes: list[str]) -> list[Floats]:
    """Tail joint positions from base to tip (side-view pixels), or [] when the rear has no tail."""
    pixels = graph.pixels.astype(np.float64)
    start = int(np.argmin(np.sum((pixels - hips) ** 2, axis=1)))
    tip = int(np.argmin(pixels[:, 0] + 1e-3 * np.abs(pixels[:, 1] - hips[1])))
    nodes = graph.path(start, tip)
    run = MedialPath.of(graph, nodes) if len(nodes) >= 4 else None
    base = run.fraction_where_below(0.5 * float(run.radius[0])) if run is not None else 1.0
    if run is None or (1.0 - base) * run.length < 2.0 * float(run.radius[0]):  # nothing thin sticks out
        notes.append("rig: no tail found; the skeleton has no tail bones")
        return []
    end = side.march(run.points[-1], run.points[-1] - run.at(base + 0.9 * (1.0 - base)))
    joints = [run.at(base + (1.0 - base) * i / TAIL_JOINTS) for i in range(TAIL_JOINTS)]
    return [*joints, end]


def _fit_leg(grid: VoxelGrid, name: str, leg: _Leg, trunk: _Trunk, placed: Placement) -> None:
    """UpperLeg (from inside the body), LowerLeg (from the knee or hock), Foot (from the fetlock)."""
    height = trunk.belly - trunk.floor

    def centre_at(row: float) -> Floats:
        return np.array([np.interp(row, leg.rows, leg.centres[:, axis]) for axis in (0, 1)])

    top = centre_at(trunk.belly)
    bend = 1.0 if name.startswith("Front") else -1.0  # hints the bend: carpus forward, hock backward
    knee_row = trunk.floor + 0.45 * height
    fetlock_row = trunk.floor + max(0.12 * height, leg.radius)
    knee, fetlock = centre_at(knee_row), centre_at(fetlock_row)
    shoulder_row = trunk.belly + 0.5 * (trunk.middle(top[1]) - trunk.belly)
    points = [
        grid.centres(np.array([top[0], shoulder_row, top[1]])),
        grid.centres(np.array([knee[0], knee_row, knee[1] + 0.2 * bend * leg.radius])),
        grid.centres(np.array([fetlock[0], fetlock_row, fetlock[1]])),
        _toe(grid, centre_at(trunk.floor), leg.radius, (trunk.floor, fetlock_row)),
    ]
    placed.chain((f"{name}UpperLeg", f"{name}LowerLeg", f"{name}Foot"), points)


def _toe(grid: VoxelGrid, centre: Floats, radius: float, rows: tuple[int, float]) -> Floats:
    """The front-most voxel of the paw (rows from the floor to the fetlock near the leg's centre)."""
    floor, top_row = rows
    block = grid.occupied[:, floor : max(int(top_row), floor + 1), :]
    voxels = np.argwhere(block).astype(np.float64)
    near = voxels[np.abs(voxels[:, 0] - centre[0]) <= 1.5 * radius + 1.0]
    near = near[np.abs(near[:, 2] - centre[1]) <= 4.0 * radius + 2.0]
    if len(near) == 0:
        return grid.centres(np.array([centre[0], floor, centre[1] + radius]))
    front = near[np.argmax(near[:, 2])]
    return grid.centres(np.array([centre[0], floor + front[1], front[2]]))
