"""Triangle-mesh operations the mesh steps share: welding, closedness, components, normals,
surface sampling, closest-point queries and sRGB conversion.

Arrays follow `assetcore.geometry.model`: positions (V, 3) float, faces (F, 3) integer indices,
counter-clockwise seen from outside. Everything here is deterministic and single-threaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ArrayLike = npt.NDArray[Any]


def weld(positions: ArrayLike, faces: ArrayLike) -> tuple[FloatArray, IntArray]:
    """Merge vertices with identical positions and drop faces that collapse or repeat.

    GLB meshes split vertices along UV and normal seams; topology checks need them joined.
    Unreferenced vertices are dropped too.
    """
    positions = np.asarray(positions, np.float64)
    inverse, firsts = _row_groups(positions)
    welded = inverse[np.asarray(faces, np.int64)]
    welded = welded[
        (welded[:, 0] != welded[:, 1]) & (welded[:, 1] != welded[:, 2]) & (welded[:, 2] != welded[:, 0])
    ]
    _, first_faces = _row_groups(np.sort(welded, axis=1))
    return compact(positions[firsts], welded[np.sort(first_faces)])


def _row_groups(rows: ArrayLike) -> tuple[IntArray, IntArray]:
    """Equal rows grouped: (group of each row, first row of each group), groups in sorted order."""
    rows = np.asarray(rows)
    order = np.lexsort(rows.T[::-1])
    starts = np.ones(len(order), bool)
    starts[1:] = (np.diff(rows[order], axis=0) != 0).any(axis=1)
    groups = np.empty(len(order), np.int64)
    groups[order] = np.cumsum(starts) - 1
    return groups, order[starts]


def separate_coincident(positions: ArrayLike, faces: ArrayLike, distance: float) -> FloatArray:
    """Move distinct vertices that share a position `distance` inward along their normals.

    A closed solid may touch itself at a vertex or along an edge (manifold3d keeps the
    touching sheets' vertices apart); welding by position, as watertightness checks do,
    would then see non-manifold edges.
    """
    positions = np.array(positions, np.float64)
    groups, _ = _row_groups(positions)
    shared = np.bincount(groups)[groups] > 1
    if shared.any():
        normals = vertex_normals(positions, faces)
        positions[shared] -= distance * normals[shared]
    return positions


def compact(positions: ArrayLike, faces: ArrayLike) -> tuple[FloatArray, IntArray]:
    """Drop vertices no face uses and renumber the faces, keeping vertex order."""
    faces = np.asarray(faces, np.int64)
    used = np.zeros(len(positions), bool)
    used[faces.reshape(-1)] = True
    renumber = np.cumsum(used) - 1
    return np.asarray(positions, np.float64)[used], renumber[faces]


def directed_edges(faces: ArrayLike) -> IntArray:
    """(3F, 2) edges (a, b) in each face's winding order."""
    faces = np.asarray(faces, np.int64)
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def is_closed_manifold(faces: ArrayLike) -> bool:
    """True when every edge joins exactly two faces that wind it in opposite directions.

    That is watertight with consistent orientation: each directed edge occurs once and so
    does its reverse. Apply to welded faces.
    """
    faces = np.asarray(faces, np.int64)
    if len(faces) == 0:
        return False
    edges = directed_edges(faces)
    count = int(edges.max()) + 1
    keys = np.sort(edges[:, 0] * count + edges[:, 1])
    if (keys[1:] == keys[:-1]).any():
        return False
    reverse = edges[:, 1] * count + edges[:, 0]
    found = np.minimum(np.searchsorted(keys, reverse), len(keys) - 1)
    return bool((keys[found] == reverse).all())


def components(faces: ArrayLike, vertex_count: int) -> tuple[int, IntArray]:
    """Connected components of the faces (sharing a vertex connects): (count, label
    0..count-1 of each face). Vertices that no face uses do not count."""
    faces = np.asarray(faces, np.int64)
    edges = directed_edges(faces)
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(vertex_count,) * 2)
    _, vertex_labels = csgraph.connected_components(graph, directed=False)
    used, face_labels = np.unique(vertex_labels[faces[:, 0]], return_inverse=True)
    return len(used), face_labels.astype(np.int64)


def largest_component(positions: ArrayLike, faces: ArrayLike) -> tuple[FloatArray, IntArray]:
    """The component with the most faces (ties: the first), compacted.

    On a closed surface this also drops internal cavity shells, which are smaller than
    the outer shell that encloses them.
    """
    count, labels = components(faces, len(positions))
    if count <= 1:
        return compact(positions, faces)
    biggest = int(np.argmax(np.bincount(labels)))
    return compact(positions, np.asarray(faces)[labels == biggest])


def face_normals(positions: ArrayLike, faces: ArrayLike) -> FloatArray:
    """Unnormalised face normals: length = twice the triangle's area."""
    triangles = np.asarray(positions, np.float64)[np.asarray(faces, np.int64)]
    return np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])


def vertex_normals(positions: ArrayLike, faces: ArrayLike) -> npt.NDArray[np.float32]:
    """Area-weighted unit vertex normals; +Y for vertices no face gives a direction."""
    faces = np.asarray(faces, np.int64)
    weighted = face_normals(positions, faces)
    normals = np.column_stack(
        [
            sum(
                np.bincount(faces[:, corner], weighted[:, axis], minlength=len(positions))
                for corner in range(3)
            )
            for axis in range(3)
        ]
    )
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    unit = np.where(length > 1e-20, normals / np.maximum(length, 1e-20), (0.0, 1.0, 0.0))
    return unit.astype(np.float32)


def signed_volume(positions: ArrayLike, faces: ArrayLike) -> float:
    """Enclosed volume; negative when the faces wind inward."""
    triangles = np.asarray(positions, np.float64)[np.asarray(faces, np.int64)]
    return float(
        np.einsum("ij,ij->i", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum() / 6.0
    )


def orient_outward(positions: ArrayLike, faces: ArrayLike) -> IntArray:
    """The faces, reversed when a closed surface winds inward."""
    faces = np.asarray(faces, np.int64)
    return faces[:, ::-1].copy() if signed_volume(positions, faces) < 0 else faces


def sample_surface(positions: ArrayLike, faces: ArrayLike, count: int, seed: int = 0) -> FloatArray:
    """`count` points spread over the surface in proportion to area (seeded, reproducible)."""
    triangles = np.asarray(positions, np.float64)[np.asarray(faces, np.int64)]
    area = np.linalg.norm(face_normals(positions, faces), axis=1)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(triangles), size=count, p=area / area.sum())
    u, v = rng.random((2, count))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = triangles[chosen]
    return np.asarray(t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0]))


def closest_on_triangles(points: FloatArray, a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Barycentric coordinates (N, 3) of the closest point on triangle (a, b, c) to each point.

    Ericson's region tests (Real-Time Collision Detection, 5.1.5), vectorised: the masks are
    applied from the least to the most specific region so that the most specific one wins.
    """
    ab, ac = b - a, c - a
    ap, bp, cp = points - a, points - b, points - c
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        total = va + vb + vc
        total = np.where(np.abs(total) > 1e-300, total, 1e-300)
        v, w = vb / total, vc / total
        bary = np.stack([1 - v - w, v, w], axis=1)

        def assign(mask: npt.NDArray[np.bool_], weights: tuple[Any, Any, Any]) -> None:
            for column, weight in enumerate(weights):
                bary[mask, column] = weight[mask] if isinstance(weight, np.ndarray) else weight

        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        assign((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), (0.0, 1 - t, t))
        t = d2 / (d2 - d6)
        assign((vb <= 0) & (d2 >= 0) & (d6 <= 0), (1 - t, 0.0, t))
        assign((d6 >= 0) & (d5 <= d6), (0.0, 0.0, 1.0))
        t = d1 / (d1 - d3)
        assign((vc <= 0) & (d1 >= 0) & (d3 <= 0), (1 - t, t, 0.0))
        assign((d3 >= 0) & (d4 <= d3), (0.0, 1.0, 0.0))
        assign((d1 <= 0) & (d2 <= 0), (1.0, 0.0, 0.0))
    return np.asarray(bary)


@dataclass(frozen=True)
class SurfaceHits:
    """Closest surface points: the face hit, its barycentric coordinates, the distance."""

    faces: IntArray
    barycentric: FloatArray
    distances: FloatArray


class SurfaceIndex:
    """Approximate closest-point queries on a triangle mesh.

    A k-d tree over points spread on every triangle (centroids, plus a lattice on long
    triangles) finds each query's `candidates` nearest samples; the exact closest point is
    then taken on their triangles. The answer is exact when the true closest triangle owns
    one of those samples, and otherwise off by at most about the sample spacing (two median
    edge lengths).
    """

    def __init__(self, positions: ArrayLike, faces: ArrayLike, candidates: int = 4) -> None:
        self.positions = np.asarray(positions, np.float64)
        self.faces = np.asarray(faces, np.int64)
        self.candidates = min(candidates, len(self.faces))
        edges = np.linalg.norm(
            self.positions[self.faces] - self.positions[np.roll(self.faces, 1, axis=1)], axis=2
        )
        samples, owners = surface_lattice(self.positions, self.faces, 2.0 * float(np.median(edges)))
        self._owners = owners
        self._tree = cKDTree(samples)

    def closest(self, points: ArrayLike) -> SurfaceHits:
        points = np.asarray(points, np.float64)
        _, nearest = self._tree.query(points, k=self.candidates, workers=-1)  # same answer, any thread count
        nearest = nearest.reshape(len(points), -1)
        best_distance = np.full(len(points), np.inf)
        best_face = np.zeros(len(points), np.int64)
        best_bary = np.zeros((len(points), 3))
        for column in range(nearest.shape[1]):
            face = self._owners[nearest[:, column]]
            corners = self.positions[self.faces[face]]
            bary = closest_on_triangles(points, corners[:, 0], corners[:, 1], corners[:, 2])
            found = np.einsum("ij,ijk->ik", bary, corners)
            distance = np.linalg.norm(found - points, axis=1)
            better = distance < best_distance
            best_distance[better], best_face[better], best_bary[better] = (
                distance[better],
                face[better],
                bary[better],
            )
        return SurfaceHits(best_face, best_bary, best_distance)


def surface_lattice(
    positions: ArrayLike, faces: ArrayLike, spacing: float, max_divisions: int = 64
) -> tuple[FloatArray, IntArray]:
    """Points covering every triangle about `spacing` apart: each centroid, plus a barycentric
    lattice (at most `max_divisions` per edge) on longer triangles. Returns (points, owning face)."""
    positions, faces = np.asarray(positions, np.float64), np.asarray(faces, np.int64)
    triangles = positions[faces]
    edges = np.linalg.norm(triangles - np.roll(triangles, 1, axis=1), axis=2)
    divisions = np.clip(np.ceil(edges.max(axis=1) / max(spacing, 1e-12)), 1, max_divisions).astype(np.int64)
    points: list[FloatArray] = [triangles.mean(axis=1)]
    owners: list[IntArray] = [np.arange(len(faces))]
    for n in np.unique(divisions[divisions > 1]):
        chosen = np.flatnonzero(divisions == n)
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = i + j <= n
        weights = np.stack([n - i[keep] - j[keep], i[keep], j[keep]], axis=1) / n
        points.append(np.einsum("lk,tkd->tld", weights, triangles[chosen]).reshape(-1, 3))
        owners.append(np.repeat(chosen, len(weights)))
    return np.concatenate(points), np.concatenate(owners)


def srgb_to_linear(values: ArrayLike) -> FloatArray:
    """sRGB-encoded values in 0..1 to linear light."""
    values = np.asarray(values, np.float64)
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: ArrayLike) -> FloatArray:
    """Linear-light values in 0..1 to sRGB encoding."""
    values = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)
