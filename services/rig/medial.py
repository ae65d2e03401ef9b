"""The medial axis of a 2D silhouette as a weighted graph: where limbs run and branch.

Pixels of the skeletonized mask are the nodes, 8-neighbours the edges (weighted by length);
each node carries the distance transform there (the local half-thickness of the shape).
Short spurs that come from boundary noise are pruned, so extremities are real limbs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from skimage.morphology import skeletonize

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_NEIGHBOURS = [(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]


@dataclass(frozen=True)
class MedialGraph:
    pixels: Ints  # (N, 2) mask coordinates of the medial-axis pixels
    radius: Floats  # (N,) distance from each node to the silhouette's outside, in pixels
    edges: sparse.csr_matrix  # (N, N) symmetric, edge length in pixels

    @property
    def size(self) -> int:
        return len(self.pixels)

    def degree(self) -> Ints:
        return np.diff(self.edges.indptr).astype(np.int64)

    def distances(self, source: int) -> Floats:
        """Path length from `source` to every node (inf where unreachable)."""
        return np.asarray(csgraph.dijkstra(self.edges, indices=source), dtype=np.float64)

    def path(self, source: int, target: int) -> Ints:
        """Nodes of the shortest path source -> target (both included); empty if unreachable."""
        return self.paths_from(source)(target)

    def paths_from(self, source: int) -> Callable[[int], Ints]:
        """Shortest paths from one source: a function target -> nodes source..target (empty if
        unreachable), sharing one Dijkstra run."""
        _, predecessors = csgraph.dijkstra(self.edges, indices=source, return_predecessors=True)

        def to(target: int) -> Ints:
            if source != target and predecessors[target] < 0:
                return np.zeros(0, dtype=np.int64)
            nodes = [target]
            while nodes[-1] != source:
                nodes.append(int(predecessors[nodes[-1]]))
            return np.array(nodes[::-1], dtype=np.int64)

        return to


def medial_graph(mask: Bools, prune_ratio: float = 1.5) -> MedialGraph:
    """The pruned medial axis of the largest connected part of `mask`."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return _graph(np.zeros((0, 2), dtype=np.int64), np.zeros(0), mask)
    largest = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    solid = ndimage.binary_fill_holes(largest)
    radius_map = ndimage.distance_transform_edt(np.pad(solid, 1))[1:-1, 1:-1]
    pixels = np.argwhere(skeletonize(solid)).astype(np.int64)
    graph = _graph(pixels, radius_map[pixels[:, 0], pixels[:, 1]], solid)
    return _prune_spurs(graph, prune_ratio)


def _graph(pixels: Ints, radius: Floats, mask: Bools) -> MedialGraph:
    index = np.full(mask.shape, -1, dtype=np.int64)
    index[pixels[:, 0], pixels[:, 1]] = np.arange(len(pixels))
    padded = np.pad(index, 1, constant_values=-1)
    rows, cols, lengths = [], [], []
    for di, dj in _NEIGHBOURS:
        other = padded[pixels[:, 0] + 1 + di, pixels[:, 1] + 1 + dj]
        keep = other >= 0
        if di and dj:  # a diagonal step only where no two-step path around the corner exists
            keep &= padded[pixels[:, 0] + 1 + di, pixels[:, 1] + 1] < 0
            keep &= padded[pixels[:, 0] + 1, pixels[:, 1] + 1 + dj] < 0
        rows.append(np.flatnonzero(keep))
        cols.append(other[keep])
        lengths.append(np.full(int(keep.sum()), float(np.hypot(di, dj))))
    n = len(pixels)
    edges = sparse.csr_matrix(
        (np.concatenate(lengths), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return MedialGraph(pixels=pixels, radius=np.asarray(radius, dtype=np.float64), edges=edges)


def _prune_spurs(graph: MedialGraph, ratio: float) -> MedialGraph:
    """Drop end branches shorter than `ratio` x the thickness where they join, until none is left."""
    keep = np.ones(graph.size, dtype=bool)
    while True:
        sub = graph.edges[keep][:, keep]
        alive = np.flatnonzero(keep)
        degree = np.diff(sub.indptr)
        removed = False
        for end in np.flatnonzero(degree == 1):
            branch = _branch_from_end(sub, end, degree)
            if branch is None:
                continue
            nodes, junction, length = branch
            if length < ratio * graph.radius[alive[junction]]:
                keep[alive[nodes]] = False
                removed = True
                break  # degrees changed: recompute
        if not removed:
            break
    pixels = graph.pixels[keep]
    sub_edges = graph.edges[keep][:, keep]
    return MedialGraph(pixels=pixels, radius=graph.radius[keep], edges=sub_edges.tocsr())


def _branch_from_end(edges: sparse.csr_matrix, end: int, degree: Ints) -> tuple[Ints, int, float] | None:
    """Walk from an end node to the first junction: (branch nodes, junction, length); None: no junction."""
    nodes, length, previous, current = [end], 0.0, -1, end
    while degree[current] < 3:
        row = slice(edges.indptr[current], edges.indptr[current + 1])
        forward = [
            (int(n), float(w))
            for n, w in zip(edges.indices[row], edges.data[row], strict=True)
            if n != previous
        ]
        if not forward:
            return None
        previous, (current, weight) = current, forward[0]
        length += weight
        nodes.append(current)
    return np.array(nodes[:-1], dtype=np.int64), current, length
