"""A labelled voxel volume of a 2D figure: each piece rasterised on its own and given depth by its
rule (depth.py), in draw order, so later pieces overwrite earlier ones where both are solid.

The volume is in the concept camera's frame (assetcore/geometry/camera.py): +X the concept image's
right, +Y up, +Z towards the concept camera, a cube of half side `extent` about the subject's
centre (the concept image's framing). A front-view figure's depth is +Z; a side-view figure (a
quadruped, head to the image's right) is the view from azimuth 270: its image right is +Z, its
depth (towards its near side) -X, and its near half is mirrored onto its far half.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from services.tti.drawing.depth import DepthRule, default_rule, rule_for
from services.tti.drawing.figure import Figure, Piece
from services.tti.drawing.raster import PieceMask, framing, piece_masks

GRID = 160  # voxels along each axis: ~1.2 cm for a 1.8 m character
_FOOT_BAND = 0.3  # a foot's forward reach spans the lowest share of its piece
_WRAPPED = 0.25  # a wrapping piece covers the back of pieces it overlaps by this share of their area

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Volume:
    """labels[x, y, z]: piece index + 1 (0 empty); voxel i's centre is at -extent + (i + 0.5) * size."""

    labels: npt.NDArray[np.uint8]
    extent: float  # half side of the cube, in figure units
    pieces: list[Piece]

    @cached_property
    def solid(self) -> npt.NDArray[np.bool_]:
        return self.labels > 0

    @property
    def voxel_size(self) -> float:
        return 2.0 * self.extent / self.labels.shape[0]


def build_volume(figure: Figure, subject: str, category: str, *, margin: float, grid: int = GRID) -> Volume:
    """The figure in 3D, framed as the concept image frames it (`margin`: its empty border share)."""
    centre, span = framing(figure)
    extent = span / (2.0 * (1.0 - 2.0 * margin))
    masks = piece_masks(figure, grid, centre, extent)
    rules = _rules(figure, masks, subject, category, grid)
    depths = [_own_depth(m.mask, r) if m is not None else None for m, r in zip(masks, rules, strict=True)]
    reference = max(
        (float(d.max()) for d, r in zip(depths, rules, strict=True) if d is not None and r.shape == "round"),
        default=1.0,
    )
    work = np.zeros((grid, grid, grid), np.uint8)  # [row downwards, drawing right, depth index]
    for index, (placed, rule, depth) in enumerate(zip(masks, rules, depths, strict=True)):
        if placed is not None and depth is not None:
            _place(work, index + 1, placed, rule, depth, reference)
            if rule.wrap_back:
                _wrap_back(work, index + 1, placed, masks[:index])
    if figure.view == "side":
        work[..., : grid // 2] = work[..., grid // 2 :][..., ::-1]
        labels = work.transpose(2, 0, 1)[::-1, ::-1, :]  # x = -depth, y = up, z = drawing right
    else:
        labels = work.transpose(1, 0, 2)[:, ::-1, :]  # x = drawing right, y = up, z = depth
    return Volume(np.ascontiguousarray(labels), float(extent), figure.pieces)


def _rules(
    figure: Figure, masks: list[PieceMask | None], subject: str, category: str, grid: int
) -> list[DepthRule]:
    """Each piece's rule: the table's, else a decal when drawn over earlier, larger pieces."""
    top = np.zeros((grid, grid), np.int32)  # the last piece drawn at each pixel (index + 1)
    areas = np.zeros(len(masks) + 1)
    rules = []
    for index, (piece, placed) in enumerate(zip(figure.pieces, masks, strict=True)):
        rule = rule_for(piece.name, subject, category)
        if placed is not None:
            window = top[_window(placed)]
            under = window[placed.mask]
            areas[index + 1] = placed.mask.sum()
            if rule is None:
                covered = under[under > 0]
                under_area = areas[np.unique(covered)].sum()
                rule = default_rule(covered.size / under.size, areas[index + 1] / max(under_area, 1.0))
            window[placed.mask] = index + 1
        rules.append(rule or default_rule(0.0, 1.0))
    return rules


def _window(placed: PieceMask) -> tuple[slice, slice]:
    rows, columns = placed.mask.shape
    return slice(placed.row, placed.row + rows), slice(placed.column, placed.column + columns)


def _own_depth(mask: npt.NDArray[np.bool_], rule: DepthRule) -> Floats:
    """The piece's half-depth in voxels at each pixel of its window (0 outside it)."""
    rows, columns = mask.shape
    if rule.shape == "round":
        distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1] - 0.5
        distance = np.where(mask, np.maximum(distance, 0.5), 0.0)
        reach = 2 * int(np.ceil(distance.max())) + 1
        local_max = ndimage.maximum_filter(distance, size=reach)  # the limb's radius near each pixel
        half = rule.scale * np.sqrt(np.clip(distance * (2.0 * local_max - distance), 0.0, None))
    elif rule.shape == "lathe":
        filled = mask.any(axis=1)
        first = np.argmax(mask, axis=1).astype(np.float64)
        last = columns - 1 - np.argmax(mask[:, ::-1], axis=1).astype(np.float64)
        middle, radius = (first + last) / 2.0, (last - first + 1.0) / 2.0
        offsets = np.arange(columns)[None, :] - middle[:, None]
        half = rule.scale * np.sqrt(np.clip(radius[:, None] ** 2 - offsets**2, 0.0, None))
        half = np.where(filled[:, None], half, 0.0)
    elif rule.shape == "slab":
        half = np.full(mask.shape, rule.scale * max(rows, columns))
    elif rule.shape == "block":
        half = np.full(mask.shape, rule.scale * columns)
    else:  # decal: placed on what is under it
        half = np.full(mask.shape, 0.5)
    return np.where(mask, np.maximum(half, 0.5), 0.0)


def _place(
    work: npt.NDArray[np.uint8],
    label: int,
    placed: PieceMask,
    rule: DepthRule,
    half: Floats,
    reference: float,
) -> None:
    """Write the piece's voxels: a depth range [low, high] (in voxels about the centre plane) per pixel."""
    grid = work.shape[2]
    window = work[_window(placed)]
    solid = window > 0
    under = solid.any(axis=2) & placed.mask
    centres = np.arange(grid) + 0.5 - grid / 2.0  # depth of each voxel's centre
    front = centres[grid - 1 - np.argmax(solid[..., ::-1], axis=2)]
    back = centres[np.argmax(solid, axis=2)]
    centre = rule.offset * reference
    if rule.in_front and under.any():
        centre = float(front[under].max()) + 0.5 + float(half.max())
    low, high = centre - half, centre + half
    if rule.shape == "decal":
        low = np.where(under, front, low)
        high = np.where(under, front + rule.lift, high)
    if rule.cover:
        low = np.where(under, np.minimum(low, back - rule.lift), low)
        high = np.where(under, np.maximum(high, front + rule.lift), high)
    if rule.front_limit is not None:
        high = np.minimum(high, centre + rule.front_limit * float(half.max()))
    if rule.forward > 0.0:
        high = np.maximum(high, centre + _toe_reach(placed.mask, rule.forward))
    fill = placed.mask[..., None] & (centres >= low[..., None]) & (centres <= high[..., None])
    window[fill] = label


def _toe_reach(mask: npt.NDArray[np.bool_], forward: float) -> Floats:
    """How far a foot reaches forward at each pixel: `forward` x the piece's height at the sole,
    rounding off to nothing at the top of the lowest band of rows."""
    rows = np.nonzero(mask.any(axis=1))[0]
    height = float(rows[-1] - rows[0] + 1)
    band = max(_FOOT_BAND * height, 1.0)
    above_sole = (rows[-1] - np.arange(mask.shape[0], dtype=np.float64)) / band
    reach = forward * height * np.sqrt(np.clip(1.0 - above_sole, 0.0, None))
    return np.broadcast_to(reach[:, None], mask.shape)


def _wrap_back(
    work: npt.NDArray[np.uint8], label: int, placed: PieceMask, earlier: list[PieceMask | None]
) -> None:
    """The back half of each earlier piece the wrapping piece covers enough of takes its label."""
    grid = work.shape[0]
    for index, other in enumerate(earlier):
        if other is None or _overlap(placed, other) < _WRAPPED * other.mask.sum():
            continue
        behind = work[_window(other)][..., : grid // 2]
        behind[(behind == index + 1) & other.mask[..., None]] = label


def _overlap(a: PieceMask, b: PieceMask) -> int:
    r0, c0 = max(a.row, b.row), max(a.column, b.column)
    r1 = min(a.row + a.mask.shape[0], b.row + b.mask.shape[0])
    c1 = min(a.column + a.mask.shape[1], b.column + b.mask.shape[1])
    if r0 >= r1 or c0 >= c1:
        return 0
    mine = a.mask[r0 - a.row : r1 - a.row, c0 - a.column : c1 - a.column]
    theirs = b.mask[r0 - b.row : r1 - b.row, c0 - b.column : c1 - b.column]
    return int((mine & theirs).sum())
