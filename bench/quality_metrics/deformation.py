"""Edge stretch: how much longer than at rest an edge of the skinned mesh gets in a clip."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MIN_REST_LENGTH = 1e-6  # metres; shorter edges (welded duplicates) have no meaningful ratio


def unique_edges(faces: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The undirected edges (E, 2) of a triangle list."""
    f = np.asarray(faces, dtype=np.int64)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    return np.asarray(np.unique(np.sort(edges, axis=1), axis=0), dtype=np.int64)


def worst_stretch(rest: npt.ArrayLike, frames: npt.ArrayLike, edges: npt.NDArray[np.int64]) -> float:
    """The largest posed-length / rest-length ratio over every edge and frame (frames: (T, V, 3))."""
    rest_points = np.asarray(rest, dtype=np.float64)
    posed = np.asarray(frames, dtype=np.float64)
    rest_length = np.linalg.norm(rest_points[edges[:, 0]] - rest_points[edges[:, 1]], axis=1)
    keep = rest_length > MIN_REST_LENGTH
    lengths = np.linalg.norm(posed[:, edges[keep, 0]] - posed[:, edges[keep, 1]], axis=2)
    return float((lengths / rest_length[keep]).max())
