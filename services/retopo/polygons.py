"""Polygon meshes (quads, triangles, the odd pentagon) as quad remeshers return them.

A mesh is its positions, each polygon's corner count (`sizes`) and all polygons' vertex
indices in one flat array (`corners`). The step's mesh model carries triangles only, so a
polygon mesh leaves here split into triangles: quads first, quad i as triangles 2i and
2i + 1, which is how a writer of polygon formats (FBX) can join them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.worker.backend import ErrorCode, StepError

MIRROR = np.array([-1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Polygons:
    positions: npt.NDArray[np.float64]  # (V, 3)
    sizes: npt.NDArray[np.int64]  # (F,) corners of each polygon
    corners: npt.NDArray[np.int64]  # (sum of sizes,) vertex indices, polygon after polygon

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @property
    def quads(self) -> int:
        return int((self.sizes == 4).sum())

    def directed_edges(self) -> npt.NDArray[np.int64]:
        """(sum of sizes, 2): each polygon's edges in its winding order."""
        following = np.arange(len(self.corners)) + 1
        ends = self.starts + self.sizes
        following[ends - 1] = self.starts
        return np.column_stack([self.corners, self.corners[following]])

    def reversed(self) -> Polygons:
        """The same polygons wound the other way."""
        owner = np.repeat(np.arange(len(self.sizes)), self.sizes)
        offset = np.arange(len(self.corners)) - self.starts[owner]
        order = self.starts[owner] + self.sizes[owner] - 1 - offset
        return Polygons(self.positions, self.sizes, self.corners[order])

    def kept(self, keep: npt.NDArray[np.bool_]) -> Polygons:
        """Only the polygons where `keep` is set."""
        return Polygons(self.positions, self.sizes[keep], self.corners[np.repeat(keep, self.sizes)])


def triangulate(
    positions: npt.NDArray[np.float64], sizes: npt.NDArray[np.int64], corners: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], int]:
    """Polygons to triangles: quads along their shorter diagonal (quad i as triangles 2i and
    2i + 1), then the others as fans. A diagonal that is already an edge, or another
    polygon's diagonal (two polygons around a vertex of valence 2), would join three faces:
    such a quad takes its other diagonal and such a fan starts at another corner.
    Returns (triangles, number of quads)."""
    mesh = Polygons(positions, sizes, corners)
    count = len(positions)

    def keys(first: npt.NDArray[np.int64], second: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.asarray(np.minimum(first, second) * count + np.maximum(first, second), np.int64)

    edges = mesh.directed_edges()
    existing = np.unique(keys(edges[:, 0], edges[:, 1]))
    starts = mesh.starts
    quads = starts[sizes == 4]
    a, b, c, d = (corners[quads + k] for k in range(4))
    ac, bd = keys(a, c), keys(b, d)
    shorter_ac = np.linalg.norm(positions[a] - positions[c], axis=1) <= np.linalg.norm(
        positions[b] - positions[d], axis=1
    )
    split_ac = (shorter_ac & ~np.isin(ac, existing)) | np.isin(bd, existing)
    chosen = np.where(split_ac, ac, bd)
    _, first_use = np.unique(chosen, return_index=True)
    repeated = np.ones(len(chosen), bool)
    repeated[first_use] = False
    split_ac ^= repeated  # the second quad on a diagonal takes its other one
    first = np.where(split_ac[:, None], np.column_stack([a, b, c]), np.column_stack([a, b, d]))
    second = np.where(split_ac[:, None], np.column_stack([a, c, d]), np.column_stack([b, c, d]))
    triangles = [np.stack([first, second], axis=1).reshape(-1, 3)]
    used = set(existing.tolist()) | set(np.where(split_ac, ac, bd).tolist())
    for start, size in zip(starts[sizes != 4], sizes[sizes != 4], strict=True):
        polygon = corners[start : start + size]
        fans = (np.roll(polygon, -shift) for shift in range(size))
        fan = next(
            (f for f in fans if used.isdisjoint(keys(np.full(size - 3, f[0]), f[2:-1]).tolist())), polygon
        )
        used.update(keys(np.full(size - 3, fan[0]), fan[2:-1]).tolist())
        triangles.append(np.column_stack([np.full(size - 2, fan[0]), fan[1:-1], fan[2:]]))
    return np.concatenate(triangles).astype(np.int64), len(quads)


def compacted(mesh: Polygons) -> Polygons:
    """Unreferenced vertices dropped (Instant Meshes leaves some behind)."""
    used = np.unique(mesh.corners)
    index = np.full(len(mesh.positions), -1, np.int64)
    index[used] = np.arange(len(used))
    return Polygons(mesh.positions[used], mesh.sizes, index[mesh.corners])


def outward(mesh: Polygons) -> Polygons:
    """Wound so that the enclosed volume is positive (normals point out)."""
    triangles, _ = triangulate(mesh.positions, mesh.sizes, mesh.corners)
    return mesh if meshops.signed_volume(mesh.positions, triangles) >= 0 else mesh.reversed()


def mirrored_whole(half: Polygons, seam_snap: float) -> Polygons:
    """An open x >= 0 half, its open rim along x = 0, joined to its mirror image.

    Boundary vertices within `seam_snap` of the plane are moved onto it and shared by both
    halves, so the seam is closed and the result symmetric vertex for vertex; vertices that
    strayed to x < 0 are moved onto the plane, so the halves do not cross. Boundaries away
    from the plane (holes) stay open for `holes_filled`.
    """
    positions = half.positions.copy()
    positions[:, 0] = np.maximum(positions[:, 0], 0.0)
    edges = half.directed_edges()
    rim = np.unique(edges[~_has_reverse(edges)].reshape(-1))
    rim = rim[positions[rim, 0] <= seam_snap]
    positions[rim, 0] = 0.0
    count = len(positions)
    mirror_index = np.arange(count) + count
    mirror_index[rim] = rim
    mirror = Polygons(positions, half.sizes, mirror_index[half.corners]).reversed()
    return compacted(
        Polygons(
            np.concatenate([positions, positions * MIRROR]),
            np.concatenate([half.sizes, half.sizes]),
            np.concatenate([half.corners, mirror.corners]),
        )
    )


def holes_filled(mesh: Polygons) -> Polygons:
    """Each boundary loop closed by one polygon (split into a fan later).

    A boundary vertex with two outgoing boundary edges (two holes touching at a vertex)
    cannot be walked and raises INTERNAL.
    """
    edges = mesh.directed_edges()
    boundary = edges[~_has_reverse(edges)]
    if len(boundary) == 0:
        return mesh
    if len(np.unique(boundary[:, 0])) != len(boundary):
        raise StepError(ErrorCode.INTERNAL, "instant_meshes: the remesh has holes that touch at a vertex")
    following = dict(zip(boundary[:, 0].tolist(), boundary[:, 1].tolist(), strict=True))
    loops: list[list[int]] = []
    while following:
        start = min(following)
        loop = [start]
        vertex = following.pop(start)
        while vertex != start:
            loop.append(vertex)
            vertex = following.pop(vertex, start)  # a vertex walked twice ends the loop
        loops.append(loop[::-1])  # the filling polygon runs against the boundary's direction
    return Polygons(
        mesh.positions,
        np.concatenate([mesh.sizes, [len(loop) for loop in loops]]).astype(np.int64),
        np.concatenate([mesh.corners, *map(np.asarray, loops)]).astype(np.int64),
    )


def _has_reverse(edges: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    count = int(edges.max()) + 1
    keys = np.sort(edges[:, 0] * count + edges[:, 1])
    reverse = edges[:, 1] * count + edges[:, 0]
    found = np.minimum(np.searchsorted(keys, reverse), len(keys) - 1)
    return np.asarray(keys[found] == reverse)
