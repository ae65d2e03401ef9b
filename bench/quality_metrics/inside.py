"""Which points lie inside a triangle mesh: signed ray crossings along six axis rays, by vote.

A ray from an inside point leaves an outward-facing closed surface once more than it enters it,
so the signed crossing count (+1 leaving, -1 entering) is 1 inside and 0 outside. Rays along
+-x, +-y and +-z vote and the majority wins, so that a hole in the surface (a body cut where its
arms were taken off) or a ray grazing an edge misleads one ray, not the answer. Candidate
triangles come from a uniform grid over the plane across each ray's axis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
RAYS = 6
CELLS_PER_TRIANGLE = 1.0  # grid cell = this many median triangle extents


def inside_mask(
    points: npt.ArrayLike, vertices: npt.ArrayLike, faces: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Mask (P,) of the points inside the mesh (faces counter-clockwise seen from outside)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces, dtype=np.int64)]  # (F, 3, 3)
    votes = np.zeros(len(p), dtype=np.int64)
    if len(p) == 0 or len(tri) == 0:
        return votes > 0
    for axis in range(3):
        forward, backward = _axis_windings(p, tri, axis)
        votes += (forward >= 0.5).astype(np.int64) + (backward >= 0.5).astype(np.int64)
    return votes > RAYS // 2


def _axis_windings(p: Floats, tri: Floats, axis: int) -> tuple[Floats, Floats]:
    """Signed crossing counts of the rays from each point along +axis and -axis."""
    b, c = (axis + 1) % 3, (axis + 2) % 3
    point_idx, tri_idx = _candidates(p[:, [b, c]], tri[:, :, [b, c]])
    a0, v0, v1 = tri[tri_idx, 0], tri[tri_idx, 1] - tri[tri_idx, 0], tri[tri_idx, 2] - tri[tri_idx, 0]
    v2 = p[point_idx] - a0
    det = v0[:, b] * v1[:, c] - v0[:, c] * v1[:, b]  # the normal's component along the axis
    safe = np.where(det == 0.0, 1.0, det)
    u = (v2[:, b] * v1[:, c] - v2[:, c] * v1[:, b]) / safe
    v = (v0[:, b] * v2[:, c] - v0[:, c] * v2[:, b]) / safe
    hit = (det != 0.0) & (u >= 0.0) & (v >= 0.0) & (u + v <= 1.0)
    depth = a0[:, axis] + u * v0[:, axis] + v * v1[:, axis] - p[point_idx, axis]
    sign = np.sign(det)
    forward = np.bincount(point_idx, weights=np.where(hit & (depth > 0), sign, 0.0), minlength=len(p))
    backward = np.bincount(point_idx, weights=np.where(hit & (depth < 0), -sign, 0.0), minlength=len(p))
    return np.asarray(forward, np.float64), np.asarray(backward, np.float64)


def _candidates(points2d: Floats, tri2d: Floats) -> tuple[Ints, Ints]:
    """(point, triangle) pairs whose grid cells overlap: every pair that can hit, and a few more."""
    low, high = tri2d.min(axis=1), tri2d.max(axis=1)
    cell = max(float(np.median((high - low).max(axis=1))) * CELLS_PER_TRIANGLE, 1e-9)
    origin = low.min(axis=0)
    first = np.floor((low - origin) / cell).astype(np.int64)
    last = np.floor((high - origin) / cell).astype(np.int64)
    width = int(max(last[:, 0].max(), 0)) + 1
    spans = last - first + 1
    per_tri = spans[:, 0] * spans[:, 1]
    tri_of_pair = np.repeat(np.arange(len(tri2d)), per_tri)
    k = np.arange(len(tri_of_pair)) - np.repeat(np.cumsum(per_tri) - per_tri, per_tri)
    gx = first[tri_of_pair, 0] + k % spans[tri_of_pair, 0]
    gy = first[tri_of_pair, 1] + k // spans[tri_of_pair, 0]
    keys = gy * width + gx
    order = np.argsort(keys, kind="stable")
    keys, tri_of_pair = keys[order], tri_of_pair[order]
    cells = np.floor((points2d - origin) / cell).astype(np.int64)
    outside = (cells[:, 0] < 0) | (cells[:, 0] >= width) | (cells[:, 1] < 0)
    point_keys = np.where(outside, -1, cells[:, 1] * width + cells[:, 0])
    start = np.searchsorted(keys, point_keys, side="left")
    counts = np.searchsorted(keys, point_keys, side="right") - start
    point_idx = np.repeat(np.arange(len(points2d)), counts)
    pair = (
        np.arange(len(point_idx)) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(start, counts)
    )
    return point_idx, tri_of_pair[pair]
