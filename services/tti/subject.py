"""A generated picture's subject: its matte (the matting model's, else the border-colour
estimate), cleaned, and the picture reframed when the subject comes near the border.

The prompt asks for one whole subject, centred, on a plain backdrop; image models still crop
feet or drift to a side. The gate wants the matte clear of the border, and image3d a centred
silhouette, so such a picture is zoomed out around the subject's bounding box (the new border
filled with the backdrop colour). A picture with no separable subject is EMPTY_MATTE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from assetcore.imaging.image_io import RGB8, Alpha
from assetcore.imaging.matte import border_colour, clean_matte, edge_alpha, estimate_matte

AlphaModel = Callable[[RGB8], Alpha]  # SubjectMatter.alpha

MARGIN = 0.06  # empty border around a reframed subject, share of the side
_MIN_COMPONENT = 0.02  # islands under this share of the largest are specks
_MAX_HOLE = 0.01  # holes up to this share of the subject are filled


@dataclass(frozen=True)
class Subject:
    rgba: RGB8  # (side, side, 4)
    reframed: bool  # zoomed around the subject because it came near the border
    subject_px: int


def matted_subject(rgb: RGB8, matter: AlphaModel | None) -> Subject:
    """`rgb` (square) with the subject's alpha; StepError(EMPTY_MATTE) when there is none."""
    soft = matter(rgb) if matter is not None else None
    mask = soft >= 0.5 if soft is not None else estimate_matte(rgb)
    alpha = edge_alpha(clean_matte(mask, min_component=_MIN_COMPONENT, max_hole=_MAX_HOLE).mask, soft)
    side = rgb.shape[0]
    rows, cols = np.nonzero(alpha > 0)
    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    clear = math.ceil(side * MARGIN)
    reframed = min(top, left) < clear or max(bottom, right) > side - clear
    if reframed:
        rgb, alpha = _zoomed(rgb, alpha, (top, bottom, left, right))
    rgba = np.dstack([rgb, np.round(alpha * 255.0).astype(np.uint8)])
    return Subject(rgba, reframed, int((alpha >= 0.5).sum()))


def _zoomed(rgb: RGB8, alpha: Alpha, box: tuple[int, int, int, int]) -> tuple[RGB8, Alpha]:
    """The square window around `box` whose margin is MARGIN of its side, resized to the image's side."""
    top, bottom, left, right = box
    side = rgb.shape[0]
    window = math.ceil(max(bottom - top, right - left) / (1.0 - 2.0 * MARGIN)) + 2
    y0 = (top + bottom - window) // 2
    x0 = (left + right - window) // 2
    canvas_rgb = np.empty((window, window, 3), dtype=np.uint8)
    canvas_rgb[...] = border_colour(rgb)
    canvas_alpha = np.zeros((window, window), dtype=np.float32)
    ys, xs = slice(max(0, y0), min(side, y0 + window)), slice(max(0, x0), min(side, x0 + window))
    target = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    canvas_rgb[target] = rgb[ys, xs]
    canvas_alpha[target] = alpha[ys, xs]
    colour = np.asarray(
        Image.fromarray(canvas_rgb, mode="RGB").resize((side, side), Image.Resampling.LANCZOS)
    )
    soft = np.asarray(Image.fromarray(canvas_alpha, mode="F").resize((side, side), Image.Resampling.LANCZOS))
    return colour, edge_alpha(soft >= 0.5, soft)
