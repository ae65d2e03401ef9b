"""Occupancy masks of UV charts on the packer's grid: every cell that a chart, grown by a
margin, touches. Two charts whose masks share no cell are at least twice the margin apart.

A cell touches a face grown by the margin when the square of half-size 0.5 + margin round the
cell's centre meets the face. In one row of cells those centres form one interval: the face's
extent in x within the row's band of y, widened by the half-size. The test is exact, so a
chart's mask holds every cell it reaches, however thin its triangles (even degenerate ones).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EDGE_EPSILON = 1e-9  # a cell that only touches a grown face still counts


def chart_masks(
    corners: npt.NDArray[np.float64],
    chart_of_face: npt.NDArray[np.int64],
    shapes: npt.NDArray[np.int64],
    margin: float,
) -> list[npt.NDArray[np.bool_]]:
    """One (rows, cols) mask per chart, shaped `shapes[chart]`.

    corners: (F, 3, 2) each face's corners (x along columns, y along rows) in cells, in its
    chart's frame, where cell (row, col) spans [col, col + 1] x [row, row + 1].
    """
    first_row = np.ceil(corners[:, :, 1].min(axis=1) - 1.0 - margin - EDGE_EPSILON).astype(np.int64)
    last_row = np.floor(corners[:, :, 1].max(axis=1) + margin + EDGE_EPSILON).astype(np.int64)
    counts = last_row - first_row + 1
    face = np.repeat(np.arange(len(corners)), counts)
    row = first_row[face] + np.arange(len(face)) - np.repeat(np.cumsum(counts) - counts, counts)
    left, right = _x_extent(corners[face], row - margin - EDGE_EPSILON, row + 1.0 + margin + EDGE_EPSILON)
    chart = chart_of_face[face]
    cols = shapes[chart, 1]
    first_col = np.clip(np.ceil(left - 1.0 - margin - EDGE_EPSILON), 0, cols - 1).astype(np.int64)
    last_col = np.clip(np.floor(right + margin + EDGE_EPSILON), 0, cols - 1).astype(np.int64)
    inside = (row >= 0) & (row < shapes[chart, 0]) & (left <= right)
    starts = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])])
    row_start = starts[chart] + row * cols
    # +1 where a run of touched cells starts, -1 after it ends; a running sum marks the runs
    steps = np.bincount(row_start[inside] + first_col[inside], minlength=starts[-1] + 1)
    steps -= np.bincount(row_start[inside] + last_col[inside] + 1, minlength=starts[-1] + 1)
    flat = np.cumsum(steps[:-1]) > 0
    return [flat[starts[k] : starts[k + 1]].reshape(shapes[k]) for k in range(len(shapes))]


def _x_extent(
    triangles: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The least and greatest x of each triangle's part with low <= y <= high (left > right
    when it has none): among its corners in the band and its edges' crossings of the band's
    two lines."""
    x, y = triangles[:, :, 0], triangles[:, :, 1]
    inside = (y >= low[:, None]) & (y <= high[:, None])
    candidates = [np.where(inside, x, np.inf), np.where(inside, x, -np.inf)]
    next_x, next_y = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    rise = next_y - y
    safe_rise = np.where(rise == 0.0, 1.0, rise)
    for line in (low, high):
        t = (line[:, None] - y) / safe_rise
        crosses = (rise != 0.0) & (t >= 0.0) & (t <= 1.0)
        at = x + t * (next_x - x)
        candidates += [np.where(crosses, at, np.inf), np.where(crosses, at, -np.inf)]
    left = np.min(np.concatenate(candidates[0::2], axis=1), axis=1)
    right = np.max(np.concatenate(candidates[1::2], axis=1), axis=1)
    return left, right
