"""Vertex colours for a reconstructed mesh, from the concept image and the multiview views.

Positions are in the concept camera's frame (assetcore/geometry/camera.py: +X the concept image's
right, +Y up, +Z towards the concept camera). A perspective "views" camera looks at the subject's
centre with the views' field of view, from the distance at which the subject's bounding sphere
fills it.

The images' framing is not known exactly (TripoSR recentres its input, Zero123++ frames its
own views), so each image is fitted to the mesh: the projected vertices' bounding box is
mapped onto the bounding box of the image's matte. Each vertex takes its colour from the
image that sees it best: its normal most directly facing the camera, among the cameras for
which it passes a depth test; a vertex no camera sees (or every vertex when there are no
views) takes the concept image's, so back and sides come from a real view when there is one.
Pixels outside an image's solid matte core take the colour of the nearest core pixel, so
silhouette rims never pick up the background.
"""

from __future__ import annotations

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
CORE_EROSION_PX = 2  # anti-aliased rim pixels are not a colour source
DEPTH_TOLERANCE_CELLS = 2.0  # a vertex this many depth-map cells behind the nearest one is hidden
MIN_DEPTH_CELLS = 16


@dataclass(frozen=True)
class ColourSource:
    """An image as a colour source: its core-filled linear RGB and matte bounding box."""

    rgb: npt.NDArray[np.float32]  # (H, W, 3) linear, every non-core pixel filled from the core
    box: tuple[float, float, float, float]  # top, left, bottom, right of the matte, pixel edges
    camera: Camera

    @classmethod
    def of(cls, rgb: npt.ArrayLike, alpha: npt.ArrayLike, camera: Camera) -> ColourSource | None:
        """None when the image shows no subject."""
        rgb, alpha = np.asarray(rgb, np.float32), np.asarray(alpha, np.float32)
        rows, cols = np.nonzero(alpha >= MATTE_THRESHOLD)
        if rows.size == 0:
            return None
        core = ndimage.binary_erosion(alpha >= CORE_ALPHA, iterations=CORE_EROSION_PX)
        if not core.any():
            core = alpha >= MATTE_THRESHOLD
        _, (near_rows, near_cols) = ndimage.distance_transform_edt(~core, return_indices=True)
        filled = meshops.srgb_to_linear(rgb[near_rows, near_cols]).astype(np.float32)
        box = (float(rows.min()), float(cols.min()), float(rows.max() + 1), float(cols.max() + 1))
        return cls(filled, box, camera)

    def pixels(self, positions: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(row, column, depth) of each position, the mesh's projection fitted to the matte."""
        x, y, depth = self.camera.image_plane(positions)
        top, left, bottom, right = self.box
        column = left + _unit(x) * (right - left)
        row = top + (1.0 - _unit(y)) * (bottom - top)
        return row, column, depth

    def sample(self, row: FloatArray, column: FloatArray) -> npt.NDArray[np.float32]:
        coordinates = np.stack([row - 0.5, column - 0.5])  # pixel centres sit at +0.5
        channels = [
            ndimage.map_coordinates(self.rgb[..., c], coordinates, order=1, mode="nearest") for c in range(3)
        ]
        sampled: npt.NDArray[np.float32] = np.stack(channels, axis=1).astype(np.float32)
        return sampled


def colour_vertices(
    positions: npt.ArrayLike, normals: npt.ArrayLike, concept: ConceptImage, views: Multiview | None
) -> npt.NDArray[np.float32]:
    """Linear RGBA (V, 4) for vertices and unit normals in the concept camera's frame."""
    points = np.asarray(positions, np.float64)
    unit_normals = np.asarray(normals, np.float64)
    sources = [ColourSource.of(concept.rgb, concept.alpha, Camera.orbit(0.0, 0.0, None))]
    if views is not None:
        for view in views.views:
            camera = Camera.orbit(view.azimuth_deg, view.elevation_deg, views.fov_deg)
            rgba = view.rgba.astype(np.float32) / 255.0
            sources.append(ColourSource.of(rgba[..., :3], rgba[..., 3], camera))
    usable = [s for s in sources if s is not None]
    colours = np.zeros((len(points), 3), np.float32)
    best = np.full(len(points), -np.inf)
    for source in usable:
        row, column, depth = source.pixels(points)
        facing = unit_normals @ source.camera.direction
        score = np.where((facing > 0) & _visible(row, column, depth, source.box), facing, -np.inf)
        better = score > best
        if source is usable[0]:
            better |= ~np.isfinite(best)  # the concept image colours what no camera sees
        colours[better] = source.sample(row[better], column[better])
        best = np.maximum(best, score)
    return np.column_stack([colours, np.ones(len(points), np.float32)])


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
