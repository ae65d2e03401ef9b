"""Whether a small chart, flattened onto its neighbour's seam, may join the neighbour.

The merged faces must keep the neighbour's orientation (no flipped triangle) and stay within
MAX_DISTORTION of the neighbour's scale and shape. They must not overlap the neighbour or
themselves: with every triangle the same way round, the union is one sheet exactly when each
inner vertex's angles add up to one turn, no boundary vertex's exceed it, and no boundary
edge crosses another (the boundary's winding number is then 0 or 1 everywhere), so only the
vertices and boundary edges the merge adds are tested.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# A merged triangle's area scale (UV area per surface area) may differ from the neighbour's
# mean, and its sides' scales from each other, by at most this factor: xatlas's own charts
# reach 1.8-2.9 (area) and 1.4-1.9 (shape) at their 99th percentile on the acceptance assets,
# so merged faces are no more distorted than the worst 1 % of xatlas's.
MAX_DISTORTION = 2.0
TURN_TOLERANCE = 1e-6  # radians: a boundary vertex's angles must stay below one turn by this
DEGENERATE_AREA = 1e-12  # share of the merged faces' surface below which a face has no shape to keep

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def acceptable(
    uvs: FloatArray,
    points: FloatArray,
    theirs: IntArray,
    mine: IntArray,
    their_area: FloatArray,
    my_area: FloatArray,
) -> bool:
    """Whether the faces `mine` (UV vertex indices; their seam vertices are the neighbour's)
    may join the neighbour's faces `theirs`; `points` are the vertices' surface positions and
    the areas the faces' surface areas."""
    their_signed = _signed_areas(uvs, theirs)
    orientation = np.sign(their_signed.sum())
    my_signed = _signed_areas(uvs, mine) * orientation
    if orientation == 0.0 or (my_signed <= 0.0).any():
        return False
    scale = float(np.abs(their_signed).sum() / their_area.sum())
    shaped = my_area > DEGENERATE_AREA * my_area.sum()
    if not _within_distortion(uvs, points, mine[shaped], scale):
        return False
    return _one_sheet(uvs, theirs, mine)


def _signed_areas(uvs: FloatArray, faces: IntArray) -> FloatArray:
    corners = uvs[faces]
    a, b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    result: FloatArray = (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / 2.0
    return result


def mirrored(uvs: FloatArray, points: FloatArray, faces: IntArray, area: FloatArray) -> bool:
    """Whether the faces' UVs turn the other way round than the faces do on the surface (xatlas
    mirrors about half its charts), judged by the larger share of their surface area."""
    a, b, c, d = _jacobians(uvs, points, faces[area > 0.0])
    return bool(((a * d - b * c) * area[area > 0.0]).sum() < 0.0)


def _within_distortion(uvs: FloatArray, points: FloatArray, faces: IntArray, scale: float) -> bool:
    """Whether each face's map from the surface to UV scales area within MAX_DISTORTION of
    `scale` and stretches no direction more than MAX_DISTORTION times another."""
    a, b, c, d = _jacobians(uvs, points, faces)
    # the singular values, in closed form
    q = np.hypot(a + d, c - b) / 2.0
    r = np.hypot(a - d, c + b) / 2.0
    largest, smallest = q + r, np.abs(q - r)
    area_scale = largest * smallest / scale
    return bool(
        (area_scale <= MAX_DISTORTION).all()
        and (area_scale >= 1.0 / MAX_DISTORTION).all()
        and (largest <= MAX_DISTORTION * smallest).all()
    )


def _jacobians(
    uvs: FloatArray, points: FloatArray, faces: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Each face's map [[a, b], [c, d]] from its plane on the surface (first edge along x, its
    normal by the face's winding) to UV; faces must have area."""
    corners = points[faces]
    first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    length = np.linalg.norm(first, axis=1)
    along = np.einsum("ij,ij->i", first, second) / length
    across = np.linalg.norm(np.cross(first, second), axis=1) / length
    flat = uvs[faces]
    du, dv = flat[:, 1] - flat[:, 0], flat[:, 2] - flat[:, 0]
    a, c = du[:, 0] / length, du[:, 1] / length
    return a, (dv[:, 0] - a * along) / across, c, (dv[:, 1] - c * along) / across


def _one_sheet(uvs: FloatArray, theirs: IntArray, mine: IntArray) -> bool:
    faces = np.concatenate([theirs, mine])
    ends = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)
    keys = ends.min(axis=1) * len(uvs) + ends.max(axis=1)
    _, key, counts = np.unique(keys, return_inverse=True, return_counts=True)
    on_boundary = counts[key] == 1
    boundary = ends[on_boundary]
    added = boundary[np.flatnonzero(on_boundary) >= theirs.size]
    if not _vertex_turns_ok(uvs, faces, np.unique(mine), np.unique(boundary)):
        return False
    return not _crossing(uvs, added, boundary)


def _vertex_turns_ok(uvs: FloatArray, faces: IntArray, vertices: IntArray, boundary: IntArray) -> bool:
    """Whether the angles round each of `vertices` add up to one turn (inner vertices) or
    less (boundary vertices)."""
    corners = uvs[faces]
    to_next = np.roll(corners, -1, axis=1) - corners
    to_previous = np.roll(corners, 1, axis=1) - corners
    cosine = np.einsum("fki,fki->fk", to_next, to_previous) / np.maximum(
        np.linalg.norm(to_next, axis=2) * np.linalg.norm(to_previous, axis=2), 1e-300
    )
    angles = np.arccos(np.clip(cosine, -1.0, 1.0))
    at = np.searchsorted(vertices, faces)
    inside = (at < len(vertices)) & (vertices[np.minimum(at, len(vertices) - 1)] == faces)
    turns = np.bincount(at[inside], weights=angles[inside], minlength=len(vertices))
    on_boundary = np.isin(vertices, boundary)
    inner_ok = np.abs(turns[~on_boundary] - 2.0 * np.pi) < np.pi
    return bool(inner_ok.all() and (turns[on_boundary] < 2.0 * np.pi - TURN_TOLERANCE).all())


def _crossing(uvs: FloatArray, added: IntArray, boundary: IntArray) -> bool:
    """Whether an `added` boundary edge crosses a boundary edge it shares no vertex with."""
    if len(added) == 0:
        return False
    a, b = uvs[added[:, 0]][:, None], uvs[added[:, 1]][:, None]
    c, d = uvs[boundary[:, 0]][None], uvs[boundary[:, 1]][None]
    apart = (added[:, None, :, None] != boundary[None, :, None, :]).all(axis=(2, 3))
    straddles_cd = _side(c, d, a) * _side(c, d, b) < 0.0
    straddles_ab = _side(a, b, c) * _side(a, b, d) < 0.0
    return bool((apart & straddles_cd & straddles_ab).any())


def _side(start: FloatArray, end: FloatArray, point: FloatArray) -> FloatArray:
    """Twice the signed area of (start, end, point): which side of the line the point is on."""
    edge, offset = end - start, point - start
    result: FloatArray = edge[..., 0] * offset[..., 1] - edge[..., 1] * offset[..., 0]
    return result
