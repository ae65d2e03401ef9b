"""Resize a matted image: Lanczos colour (optionally sharpened), Lanczos alpha re-edged to one pixel."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from assetcore.imaging.image_io import RGB8, Alpha
from assetcore.imaging.matte import edge_alpha
from services.refine.colour import bleed_colours


def resize_matted(
    rgb: RGB8, alpha: Alpha, size: tuple[int, int], background: tuple[int, int, int], *, sharpen: float = 0.0
) -> tuple[RGB8, Alpha]:
    """`size` is (width, height). The colour is bled beforehand, so no backdrop leaks into the edge."""
    colour = Image.fromarray(rgb, mode="RGB").resize(size, Image.Resampling.LANCZOS)
    if sharpen > 0.0:
        colour = colour.filter(ImageFilter.UnsharpMask(radius=1.2, percent=round(100 * sharpen), threshold=2))
    return rematted(np.asarray(colour), alpha, background)


def rematted(rgb: RGB8, alpha: Alpha, background: tuple[int, int, int]) -> tuple[RGB8, Alpha]:
    """Colour already at its new size, `alpha` at its old: the alpha resized to match and re-edged,
    the colour bled to it."""
    size = (rgb.shape[1], rgb.shape[0])
    soft = np.asarray(Image.fromarray(alpha, mode="F").resize(size, Image.Resampling.LANCZOS))
    resized_alpha = edge_alpha(soft >= 0.5, soft)
    return bleed_colours(rgb, resized_alpha, background), resized_alpha
