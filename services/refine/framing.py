"""Centre the subject on a square canvas with a margin, scaling only when it does not fit or is tiny."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assetcore.imaging.image_io import RGB8, Alpha
from services.refine.colour import BLEED_PX
from services.refine.resample import resize_matted

_SMALLEST_SHARE = 0.5  # a subject under half the usable side is scaled up to fill it
_MARGIN_SLACK = 0.5  # a subject may eat into this share of the margin before it is scaled down


@dataclass(frozen=True)
class Framed:
    rgb: RGB8
    alpha: Alpha
    scale: float  # 1.0: moved by whole pixels only, no resampling


def frame_subject(
    rgb: RGB8, alpha: Alpha, background: tuple[int, int, int], *, side: int, margin: float
) -> Framed:
    rows, cols = np.nonzero(alpha > 0)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    longest = max(bottom - top, right - left)
    usable = side * (1.0 - 2.0 * margin)
    fits = _SMALLEST_SHARE * usable <= longest <= side * (1.0 - 2.0 * margin * (1.0 - _MARGIN_SLACK))
    scale = 1.0 if fits else usable / longest

    pad = BLEED_PX + 1  # keep the bled ring around the subject
    top, left = max(0, top - pad), max(0, left - pad)
    bottom, right = min(alpha.shape[0], bottom + pad), min(alpha.shape[1], right + pad)
    crop_rgb, crop_alpha = rgb[top:bottom, left:right], alpha[top:bottom, left:right]
    if scale != 1.0:
        size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
        crop_rgb, crop_alpha = resize_matted(crop_rgb, crop_alpha, size, background)
    rows, cols = np.nonzero(crop_alpha > 0)
    centre = ((rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2)

    canvas_rgb = np.empty((side, side, 3), dtype=np.uint8)
    canvas_rgb[...] = background
    canvas_alpha = np.zeros((side, side), dtype=np.float32)
    offset = (round(side / 2 - centre[0]), round(side / 2 - centre[1]))
    _paste(canvas_rgb, crop_rgb, offset)
    _paste(canvas_alpha, crop_alpha, offset)
    return Framed(canvas_rgb, canvas_alpha, scale)


def _paste(canvas: npt.NDArray[Any], patch: npt.NDArray[Any], offset: tuple[int, int]) -> None:
    """Copy `patch` with its top-left at `offset`, clipped to the canvas."""
    y0, x0 = max(0, offset[0]), max(0, offset[1])
    y1 = min(canvas.shape[0], offset[0] + patch.shape[0])
    x1 = min(canvas.shape[1], offset[1] + patch.shape[1])
    if y1 > y0 and x1 > x0:
        canvas[y0:y1, x0:x1] = patch[y0 - offset[0] : y1 - offset[0], x0 - offset[1] : x1 - offset[1]]
