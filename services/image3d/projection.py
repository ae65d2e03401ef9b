"""Per-vertex values (colour, material) projected from the concept image and the views.

Positions are in the concept camera's frame (assetcore/geometry/camera.py: +X the concept image's
right, +Y up, +Z towards the concept camera).

Framing: a mesh carved from orthographic views with a known extent lives in their frame, so it is
projected exactly (`Camera.tile_pixels`). Otherwise the framing is not known (TripoSR recentres
its input, Zero123++ frames its own views): each image is fitted to the mesh, the projected
vertices' bounding box mapped onto the bounding box of the image's matte; a perspective camera
looks at the subject's centre from the distance at which its bounding sphere fills the view.

Blending: a camera sees a vertex when the vertex's normal faces it and it passes a depth test.
Among those cameras, the one facing the vertex most weighs most, and any other whose facing is
within SEAM_BAND of the best weighs in linearly, so colours cross a seam between two views in a
band of about 15 degrees instead of switching. A vertex no camera sees takes the fallback source:
the concept image on the fitted path, otherwise the view it faces most. Pixels outside an image's
solid matte core take the value of the nearest core pixel, so silhouette rims never pick up the
background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from assetcore.geometry import meshops
from assetcore.geometry.camera import Camera
from assetcore.multiview import Multiview
from services.image3d.concept import ConceptImage

FloatArray = npt.NDArray[np.float64]

MATTE_THRESHOLD = 0.5
CORE_ALPHA = 0.95
CORE_EROSION_PX = 2  # anti-aliased rim pixels are not a value source
DEPTH_TOLERANCE_CELLS = 2.0  # a vertex this many depth-map cells behind the nearest one is hidden
MIN_DEPTH_CELLS = 16
SEAM_BAND = 0.2  # facing (cosine) below the best camera's at which another camera stops weighing in


@dataclass(frozen=True)
class ImageSource:
    """An image as a value source: its core-filled channels, matte bounding box and framing."""

    values: npt.NDArray[np.float32]  # (H, W, C), every non-core pixel filled from the core
    box: tuple[float, float, float, float]  # top, left, bottom, right of the matte, pixel edges
    camera: Camera
    extent: float | None = None  # known orthographic framing; None: fitted to the matte's box

    @classmethod
    def of(
        cls, values: npt.ArrayLike, alpha: npt.ArrayLike, camera: Camera, extent: float | None = None
    ) -> ImageSource | None:
        """None when the image shows no subject."""
        values, alpha = np.asarray(values, np.float32), np.asarray(alpha, np.float32)
        rows, cols = np.nonzero(alpha >= MATTE_THRESHOLD)
        if rows.size == 0:
            return None
        core = ndimage.binary_erosion(alpha >= CORE_ALPHA, iterations=CORE_EROSION_PX)
        if not core.any():
            core = alpha >= MATTE_THRESHOLD
        _, (near_rows, near_cols) = ndimage.distance_transform_edt(~core, return_indices=True)
        box = (float(rows.min()), float(cols.min()), float(rows.max() + 1), float(cols.max() + 1))
        return cls(values[near_rows, near_cols], box, camera, extent)

    def pixels(self, positions: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(row, column, depth towards the camera) of each position."""
        if self.extent is not None:
            return self.camera.tile_pixels(positions, self.extent, self.values.shape[0])
        x, y, depth = self.camera.image_plane(positions)
        top, left, bottom, right = self.box
        column = left + _unit(x) * (right - left)
        row = top + (1.0 - _unit(y)) * (bottom - top)
        return row, column, depth

    def sample(self, row: FloatArray, column: FloatArray) -> npt.NDArray[np.float32]:
        coordinates = np.stack([row - 0.5, column - 0.5])  # pixel centres sit at +0.5
        channels = [
            ndimage.map_coordinates(self.values[..., c], coordinates, order=1, mode="nearest")
            for c in range(self.values.shape[2])
        ]
        sampled: npt.NDArray[np.float32] = np.stack(channels, axis=1).astype(np.float32)
        return sampled


def view_sources(
    views: Multiview, channels: slice, *, framed: bool, linear: bool = False
) -> list[ImageSource | None]:
    """One source per view (None where a view shows no subject), in the views' order. `framed`:
    the mesh is in the views' own frame (orthographic, known extent); `linear`: the channels are
    sRGB colour, converted to linear."""
    sources = []
    for i, view in enumerate(views.views):
        rgba = view.rgba.astype(np.float32) / 255.0
        values = rgba[..., channels]
        if linear:
            values = meshops.srgb_to_linear(values)
        sources.append(
            ImageSource.of(values, rgba[..., 3], views.camera(i), views.extent if framed else None)
        )
    return sources


def blend_weights(
    positions: npt.ArrayLike,
    normals: npt.ArrayLike,
    sources: Sequence[ImageSource | None],
    fallback: int | None = None,
) -> FloatArray:
    """(V, S) weights summing to 1 per vertex (see the module docstring). A vertex no source
    sees takes source `fallback`, or with None the one it faces most."""
    points = np.asarray(positions, np.float64)
    unit_normals = np.asarray(normals, np.float64)
    facing = np.full((len(points), len(sources)), -np.inf)
    scores = np.full_like(facing, -np.inf)
    for s, source in enumerate(sources):
        if source is None:
            continue
        row, column, depth = source.pixels(points)
        facing[:, s] = unit_normals @ source.camera.direction
        seen = (facing[:, s] > 0) & _visible(row, column, depth, source.box)
        scores[seen, s] = facing[seen, s]
    best = scores.max(axis=1, keepdims=True)
    seen_by_any = np.isfinite(best[:, 0])
    weights = np.zeros_like(scores)
    weights[seen_by_any] = np.clip(
        (scores[seen_by_any] - best[seen_by_any] + SEAM_BAND) / SEAM_BAND, 0.0, 1.0
    )
    unseen = np.flatnonzero(~seen_by_any)
    chosen = np.argmax(facing[unseen], axis=1) if fallback is None else np.full(len(unseen), fallback)
    weights[unseen, chosen] = 1.0
    return np.asarray(weights / weights.sum(axis=1, keepdims=True))


def blend(
    positions: npt.ArrayLike, sources: Sequence[ImageSource | None], weights: FloatArray
) -> npt.NDArray[np.float32]:
    """(V, C) values: each source sampled where it weighs, weighted."""
    points = np.asarray(positions, np.float64)
    channels = next(s.values.shape[2] for s in sources if s is not None)
    values = np.zeros((len(points), channels), np.float64)
    for s, source in enumerate(sources):
        used = np.flatnonzero(weights[:, s] > 0)
        if source is None or used.size == 0:
            continue
        row, column, _ = source.pixels(points[used])
        values[used] += weights[used, s, None] * source.sample(row, column)
    return values.astype(np.float32)


def colour_vertices(
    positions: npt.ArrayLike, normals: npt.ArrayLike, concept: ConceptImage, views: Multiview | None
) -> npt.NDArray[np.float32]:
    """Linear RGBA (V, 4) on the fitted path: the concept image first, then the views."""
    sources = [
        ImageSource.of(meshops.srgb_to_linear(concept.rgb), concept.alpha, Camera.orbit(0.0, 0.0, None))
    ]
    if views is not None:
        sources += view_sources(views, slice(0, 3), framed=False, linear=True)
    rgb = blend(positions, sources, blend_weights(positions, normals, sources, fallback=0))
    return np.column_stack([rgb, np.ones(len(rgb), np.float32)])


def _unit(values: FloatArray) -> FloatArray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / max(high - low, 1e-12)


def _visible(
    row: FloatArray, column: FloatArray, depth: FloatArray, box: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    """A depth test against the nearest vertex around each cell of a coarse grid over the image.

    The grid is coarse (a closed surface shows about half its vertices, some four a cell) and
    each cell's depth is the nearest of its 3 x 3 neighbourhood, so the splatted vertices
    leave no holes for a surface behind to show through.
    """
    cells = max(MIN_DEPTH_CELLS, int(np.sqrt(len(depth) / 8.0)))
    top, left, bottom, right = box
    r = np.clip(((row - top) / max(bottom - top, 1e-12) * cells).astype(np.int64), 0, cells - 1)
    c = np.clip(((column - left) / max(right - left, 1e-12) * cells).astype(np.int64), 0, cells - 1)
    index = r * cells + c
    nearest = np.full(cells * cells, -np.inf)
    np.maximum.at(nearest, index, depth)
    nearest = ndimage.maximum_filter(nearest.reshape(cells, cells), size=3, mode="nearest").reshape(-1)
    extent = max(float(depth.max() - depth.min()), 1e-12)
    cell_depth = extent / cells  # cells are about as deep as they are wide for a round subject
    return np.asarray(depth >= nearest[index] - DEPTH_TOLERANCE_CELLS * cell_depth)
