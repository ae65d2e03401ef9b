"""Edge colours without the background in them, and a plain backdrop under the transparent pixels."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from assetcore.imaging.image_io import RGB8, Alpha

BLEED_PX = 2  # the transparent ring that gets subject colours, so filtering never samples the backdrop
_REACH = BLEED_PX + 2  # the partly transparent edge (up to 2 px wide) plus the ring


def bleed_colours(rgb: RGB8, alpha: Alpha, background: tuple[int, int, int]) -> RGB8:
    """Opaque pixels keep their colour; pixels within reach of them (the partly transparent edge
    and a ring outside it) take the colour of the nearest opaque edge pixel; the rest is backdrop."""
    opaque = alpha >= 1.0
    if not opaque.any():
        opaque = alpha >= 0.5
    out = np.where(opaque[..., None], rgb, np.array(background, dtype=np.uint8))
    rim = opaque & ~ndimage.minimum_filter(opaque, size=3, mode="constant", cval=False)
    near = ndimage.maximum_filter(opaque, size=2 * _REACH + 1) & ~opaque
    rim_pixels, near_pixels = np.argwhere(rim), np.argwhere(near)
    if rim_pixels.size and near_pixels.size:
        _, nearest = cKDTree(rim_pixels).query(near_pixels, k=1)
        source = rim_pixels[nearest]
        out[near_pixels[:, 0], near_pixels[:, 1]] = rgb[source[:, 0], source[:, 1]]
    return out
