"""Vertex colours projected from the concept image along the view direction.

Front and back both take the pixel they project onto; vertices on the sides project onto
the silhouette's rim, where the image blends into its background, so every pixel outside
the matte's solid core is first replaced by the colour of the nearest core pixel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from assetcore.geometry import meshops
from services.image3d.concept import ConceptImage
from services.image3d.silhouette import SilhouetteGrid

CORE_EROSION_PX = 2  # the rim this many pixels deep is anti-aliased: not a colour source
CORE_ALPHA = 0.95


def project_colours(
    image: ConceptImage, grid: SilhouetteGrid, view_positions: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Linear RGBA (V, 4) for view-space vertices (u, v in voxels from the grid centre)."""
    x, y = grid.image_position(view_positions[:, 0], view_positions[:, 1])
    top, left, filled = _filled_crop(image, x, y)
    coordinates = np.stack([y - 0.5 - top, x - 0.5 - left])  # pixel centres sit at +0.5
    channels = [
        ndimage.map_coordinates(filled[..., c], coordinates, order=1, mode="nearest") for c in range(3)
    ]
    rgb = meshops.srgb_to_linear(np.clip(np.stack(channels, axis=1), 0.0, 1.0))
    return np.column_stack([rgb, np.ones(len(rgb))]).astype(np.float32)


def _filled_crop(
    image: ConceptImage, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[int, int, npt.NDArray[np.float32]]:
    """The image region the vertices project onto, with every non-core pixel coloured like
    its nearest core pixel. Returns (top row, left column, RGB crop)."""
    height, width = image.alpha.shape
    top, bottom = max(int(np.floor(y.min())) - 2, 0), min(int(np.ceil(y.max())) + 2, height)
    left, right = max(int(np.floor(x.min())) - 2, 0), min(int(np.ceil(x.max())) + 2, width)
    alpha, rgb = image.alpha[top:bottom, left:right], image.rgb[top:bottom, left:right]
    core = ndimage.binary_erosion(alpha >= CORE_ALPHA, iterations=CORE_EROSION_PX)
    if not core.any():
        core = alpha >= 0.5
    if not core.any():
        core = alpha >= alpha.max()
    _, (rows, cols) = ndimage.distance_transform_edt(~core, return_indices=True)
    return top, left, rgb[rows, cols]
