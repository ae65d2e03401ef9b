"""Pack UV charts into one square by their shapes, not their boxes.

Each chart is rasterised on a grid whose cells are as wide as the padding
(services.retopo.chart_masks), grown by half the padding, and the masks go largest first (by
cells times box: on the acceptance assets 1-2 % tighter than by cells alone) into a strip as
wide as the square (services.retopo.occupancy), each in the quarter turn and at the offset
that reach lowest, so concave charts nest and small ones fill the holes the big ones leave.
One scale, the same for every chart, sets how big the charts are on the grid.

The first scale makes the masks cover TARGET_FILL of the square, so the strip ends up about
as tall as wide. A strip up to OVERFLOW taller than wide is shrunk into the square as a whole
(the masks are grown by that much more, so the padding survives the shrink). Unless the strip
already ends just below the square's top, the charts are packed again (ATTEMPTS in all),
each time at the scale the last strip's height calls for, and the packing that covers most
of the square is kept: how well charts nest changes from one scale to the next by a few %,
either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetcore.geometry.meshops import components
from services.retopo.chart_masks import chart_masks
from services.retopo.occupancy import Occupancy, Placement

# Share of the square the masks are first sized to cover. The five acceptance assets pack
# their masks at 0.65-0.75 of the strip they fill.
TARGET_FILL = 0.70
# Cells a mask adds per cell of chart boundary (half the padding, and the cells a boundary
# only clips): 1.07-1.19 on the acceptance assets.
BOUNDARY_CELLS = 1.15
OVERFLOW = 0.06  # a strip this much taller than wide still fits by shrinking
GOOD_ENOUGH = 0.985  # a strip at least this tall (and no taller than wide) is not packed again
# Packings tried, at least; more only when none fitted. A third, aimed at the best strip's
# height again, lifts knight/wolf LOD0 coverage 55.7/55.5 -> 56.6/56.9 % for ~0.17 s; a
# fourth adds under 1 % more and would double the packing's time.
ATTEMPTS = 3
REPACK_MARGIN = 0.995  # a repacked strip aims this much lower than the square
STRIP_ROWS = 2  # strip rows per square row: one that overflows still tells by how much


@dataclass(frozen=True)
class _Packed:
    positions: npt.NDArray[np.float64]  # (V, 2) in cells of the strip
    height: int  # rows the masks reach
    covered: float  # share of the square the charts cover once the strip is fitted into it
    boundary_cells: float  # cells the masks add to the charts' area, per unit of scale


def pack_charts(
    uvs: npt.NDArray[np.float64], faces: npt.NDArray[np.int64], texture_size: int, padding_texels: int
) -> npt.NDArray[np.float64]:
    """New UVs (in 0..1) for charts, the connected groups of faces in `uvs`: each chart moved
    and turned by quarter turns, all scaled alike, at least `padding_texels` apart in a
    texture `texture_size` texels wide."""
    charts = _Charts(uvs, faces)
    width = texture_size // padding_texels  # cells
    area = _area(uvs, faces)
    scale = _first_scale(area, _boundary_length(uvs, faces), charts.largest_extent, width)
    best: _Packed | None = None
    attempt = 0
    while attempt < ATTEMPTS or best is None:
        attempt += 1
        packed = charts.pack(scale, width, area)
        if packed is None:
            scale *= np.sqrt(1.0 / STRIP_ROWS)
            continue
        if packed.height <= width * (1.0 + OVERFLOW):
            best = packed if best is None or packed.covered > best.covered else best
            if GOOD_ENOUGH * width <= packed.height <= width:
                break
        # the strip's height grows with the masks' cells: aim them at the square's height
        cells = (area * scale**2 + packed.boundary_cells * scale) * width * REPACK_MARGIN / packed.height
        scale = _scale_for(cells, area, packed.boundary_cells)
    return best.positions / max(width, best.height)


class _Charts:
    """The charts of a UV layout: which chart each face and vertex is in, and their boxes."""

    def __init__(self, uvs: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> None:
        self.uvs = uvs
        self.faces = faces
        self.count, self.of_face = components(faces, len(uvs))
        self.of_vertex = np.zeros(len(uvs), np.int64)
        self.of_vertex[faces.reshape(-1)] = np.repeat(self.of_face, 3)
        corner_chart, corners = np.repeat(self.of_face, 3), uvs[faces].reshape(-1, 2)
        self.low = np.full((self.count, 2), np.inf)
        self.high = np.full((self.count, 2), -np.inf)
        np.minimum.at(self.low, corner_chart, corners)
        np.maximum.at(self.high, corner_chart, corners)
        self.largest_extent = float((self.high - self.low).max())

    def pack(self, scale: float, width: int, area: float) -> _Packed | None:
        """The charts at `scale` cells per UV unit, packed into a strip `width` cells wide;
        None when they overflow the strip."""
        margin = 0.5 * (1.0 + OVERFLOW)  # cells
        local = (self.uvs - self.low[self.of_vertex]) * scale + margin
        shapes = np.ceil((self.high - self.low)[:, ::-1] * scale + 2.0 * margin).astype(np.int64)
        masks = chart_masks(local[self.faces], self.of_face, shapes, margin)
        strip = Occupancy(width, STRIP_ROWS * width)
        placements: list[Placement] = []
        order = np.argsort([-int(mask.sum()) * mask.size for mask in masks], kind="stable")
        for chart in order:
            placement = strip.place(masks[chart])
            if placement is None:
                return None
            placements.append(placement)
        by_chart = [placements[i] for i in np.argsort(order)]
        side = max(width, strip.height)
        boundary_cells = (sum(int(mask.sum()) for mask in masks) - area * scale**2) / scale
        positions = _placed(local, self.of_vertex, shapes, by_chart)
        return _Packed(positions, strip.height, area * scale**2 / side**2, boundary_cells)


def _first_scale(area: float, boundary: float, largest_extent: float, width: int) -> float:
    """Cells per UV unit for masks that cover TARGET_FILL of the square, or for the widest
    chart to fit it."""
    scale = _scale_for(TARGET_FILL * width**2, area, BOUNDARY_CELLS * boundary)
    return min(scale, (width - 2.0) / largest_extent) if largest_extent > 0.0 else 1.0


def _scale_for(cells: float, area: float, boundary_cells: float) -> float:
    """The scale at which masks cover `cells`: area * scale^2 + boundary_cells * scale."""
    if area <= 0.0:  # charts without area (degenerate faces only)
        return cells / boundary_cells if boundary_cells > 0.0 else float(np.inf)
    return float((np.sqrt(boundary_cells**2 + 4.0 * area * cells) - boundary_cells) / (2.0 * area))


def _area(uvs: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> float:
    corners = uvs[faces]
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return float(np.abs(edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0]).sum()) / 2.0


def _boundary_length(uvs: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> float:
    """Total length of the edges that only one face has: the charts' outlines."""
    edges = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)
    keys = edges.min(axis=1) * len(uvs) + edges.max(axis=1)
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    outline = edges[first[counts == 1]]
    return float(np.linalg.norm(uvs[outline[:, 0]] - uvs[outline[:, 1]], axis=1).sum())


def _placed(
    local: npt.NDArray[np.float64],
    chart_of_vertex: npt.NDArray[np.int64],
    shapes: npt.NDArray[np.int64],
    placements: list[Placement],
) -> npt.NDArray[np.float64]:
    """Each chart's grid coordinates turned as np.rot90 turned its mask, then moved to its
    offset (in cells)."""
    placed = np.empty_like(local)
    order = np.argsort(chart_of_vertex, kind="stable")
    bounds = np.searchsorted(chart_of_vertex[order], np.arange(len(placements) + 1))
    for chart, placement in enumerate(placements):
        mine = order[bounds[chart] : bounds[chart + 1]]
        x, y = local[mine, 0], local[mine, 1]
        rows, cols = float(shapes[chart, 0]), float(shapes[chart, 1])
        for _ in range(placement.quarter_turns):  # np.rot90: (x, y) -> (y, cols - x)
            x, y = y, cols - x
            rows, cols = cols, rows
        placed[mine, 0] = x + placement.col
        placed[mine, 1] = y + placement.row
    return placed
