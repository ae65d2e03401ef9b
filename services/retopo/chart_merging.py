"""Merge xatlas's tiny leftover charts into their neighbours before packing.

xatlas leaves many small "piecewise" charts (40-80 % of the charts on the acceptance assets,
under 0.1 % of the surface each); every one costs padding in the atlas and a seam on the
model. Each chart under SMALL_CHART_SHARE of the surface goes into the neighbour it shares the
longest edge with (the next one if that fails): its faces are flattened again by a least-
squares conformal map (libigl's lscm) with the shared seam's vertices pinned to the
neighbour's UVs, so the neighbour keeps its layout and the merged faces continue it. A merge
stands only if services.retopo.merge_checks accepts it (no flipped or overlapping triangle,
distortion bounded); merging repeats until no small chart can merge.
"""

from __future__ import annotations

import igl
import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from services.retopo.merge_checks import acceptable, mirrored

# Charts below this share of the surface are merged; larger ones keep xatlas's layout.
SMALL_CHART_SHARE = 0.005

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def merge_small_charts(
    positions: FloatArray, source_vertex: IntArray, faces: IntArray, uvs: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """(source_vertex, faces, uvs) with the small charts merged into their neighbours. Faces
    keep their order; vertices that merged faces no longer use are dropped."""
    merger = _Merger(positions[source_vertex], source_vertex, faces, uvs)
    merger.run()
    used, compact = np.unique(merger.faces, return_inverse=True)
    return source_vertex[used], compact.reshape(-1, 3).astype(np.int64), merger.uvs[used]


class _Merger:
    def __init__(self, points: FloatArray, source_vertex: IntArray, faces: IntArray, uvs: FloatArray) -> None:
        self.points = points  # (V', 3) each UV vertex's position on the surface
        self.faces = faces.copy()
        self.uvs = uvs.copy()
        self.face_area = np.linalg.norm(meshops.face_normals(points, faces), axis=1) / 2.0
        count, self.chart = meshops.components(faces, len(uvs))
        self.chart_area = np.bincount(self.chart, weights=self.face_area, minlength=count)
        self.source_vertex = source_vertex
        self.twin = _twins(source_vertex[faces])
        corners = points[faces]
        self.edge_length = np.linalg.norm(np.roll(corners, -1, axis=1) - corners, axis=2).reshape(-1)

    def run(self) -> None:
        small = SMALL_CHART_SHARE * float(self.face_area.sum())
        merged = True
        while merged:
            merged = False
            candidates = np.flatnonzero((self.chart_area > 0.0) & (self.chart_area < small))
            for chart in candidates[np.argsort(self.chart_area[candidates], kind="stable")].tolist():
                if 0.0 < self.chart_area[chart] < small and self._merge(chart):
                    merged = True

    def _merge(self, chart: int) -> bool:
        """Merge the chart into the first neighbour, by shared edge length, that takes it."""
        mine = np.flatnonzero(self.chart == chart)
        edges = (mine[:, None] * 3 + np.arange(3)).reshape(-1)
        twins = self.twin[edges]
        across = np.where(twins >= 0, self.chart[twins // 3], chart)
        seam = across != chart
        if not seam.any():
            return False
        neighbours = np.unique(across[seam])
        shared = np.bincount(np.searchsorted(neighbours, across[seam]), weights=self.edge_length[edges[seam]])
        for neighbour in neighbours[np.argsort(-shared, kind="stable")].tolist():
            on_seam = seam & (across == neighbour)
            if self._merge_into(mine, edges[on_seam], twins[on_seam], neighbour):
                self.chart[mine] = neighbour
                self.chart_area[neighbour] += self.chart_area[chart]
                self.chart_area[chart] = 0.0
                return True
        return False

    def _merge_into(self, mine: IntArray, edges: IntArray, twins: IntArray, neighbour: int) -> bool:
        """Flatten the faces `mine` with the seam `edges` (face-edges, meeting the neighbour's
        `twins`) pinned to the neighbour's UVs; keep the result when it is acceptable."""
        weld = _weld(self.faces, self.source_vertex, edges, twins)
        if weld is None:
            return False
        own = self.faces[mine]
        local_vertices, local_faces = np.unique(own, return_inverse=True)
        local_faces = local_faces.reshape(-1, 3).astype(np.int64)
        pinned = np.searchsorted(local_vertices, np.array(list(weld), np.int64))
        targets = np.array(list(weld.values()), np.int64)
        theirs = np.flatnonzero(self.chart == neighbour)
        # LSCM keeps the faces' turn: flatten a mirrored neighbour's pins mirrored, then mirror back
        mirror = (
            np.array([-1.0, 1.0])
            if mirrored(self.uvs, self.points, self.faces[theirs], self.face_area[theirs])
            else 1.0
        )
        flattened = _lscm(self.points[local_vertices], local_faces, pinned, self.uvs[targets] * mirror)
        if flattened is None:
            return False
        flattened *= mirror
        welded = local_vertices.copy()
        welded[pinned] = targets
        uvs = self.uvs.copy()
        uvs[local_vertices] = flattened
        uvs[targets] = self.uvs[targets]
        if not acceptable(
            uvs,
            self.points,
            self.faces[theirs],
            welded[local_faces],
            self.face_area[theirs],
            self.face_area[mine],
        ):
            return False
        self.uvs = uvs
        self.faces[mine] = welded[local_faces]
        return True


def _twins(faces: IntArray) -> IntArray:
    """For each face-edge (face * 3 + corner, from that corner to the next), the face-edge of
    the other face on the same surface edge; -1 on open and non-manifold edges."""
    ends = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)
    ends.sort(axis=1)
    _, key = np.unique(ends, axis=0, return_inverse=True)
    order = np.argsort(key.reshape(-1), kind="stable")
    _, first, counts = np.unique(key.reshape(-1)[order], return_index=True, return_counts=True)
    pairs = first[counts == 2]
    twin = np.full(len(ends), -1, np.int64)
    twin[order[pairs]] = order[pairs + 1]
    twin[order[pairs + 1]] = order[pairs]
    return twin


def _weld(
    faces: IntArray, source_vertex: IntArray, edges: IntArray, twins: IntArray
) -> dict[int, int] | None:
    """The neighbour's vertex for each of the chart's seam vertices: the one at the same place
    on the surface at the other end of the seam edge; None when a seam vertex would weld to two
    different vertices."""
    flat = faces.reshape(-1)
    mine = np.concatenate([flat[edges], flat[_next(edges)]])
    first, second = flat[twins], flat[_next(twins)]
    same = source_vertex[np.concatenate([first, second])] == source_vertex[mine]
    theirs = np.where(same, np.concatenate([first, second]), np.concatenate([second, first]))
    weld: dict[int, int] = {}
    for vertex, target in zip(mine.tolist(), theirs.tolist(), strict=True):
        if weld.setdefault(vertex, target) != target:
            return None
    return weld


def _next(edges: IntArray) -> IntArray:
    """The flat corner index where each face-edge ends."""
    result: IntArray = (edges // 3) * 3 + (edges + 1) % 3
    return result


def _lscm(points: FloatArray, faces: IntArray, pinned: IntArray, pins: FloatArray) -> FloatArray | None:
    """Least-squares conformal UVs of the faces with the `pinned` vertices at `pins`; None when
    the solve fails."""
    try:
        uvs, _ = igl.lscm(
            np.ascontiguousarray(points, np.float64),
            np.ascontiguousarray(faces),
            np.ascontiguousarray(pinned, np.int64),
            np.ascontiguousarray(pins, np.float64),
        )
    except RuntimeError:  # the sparse solve failed: a singular system (e.g. all faces degenerate)
        return None
    result = np.asarray(uvs, np.float64)
    return result if result.shape == (len(points), 2) and np.isfinite(result).all() else None
