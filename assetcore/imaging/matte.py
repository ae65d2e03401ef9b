"""The subject matte: estimated from the border colour when missing, cleaned, re-edged.

A clean matte is binary inside and outside with a one-pixel antialiased edge: the later
steps threshold it, and feathered or speckled edges would become bumps on the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from assetcore.imaging.image_io import RGB8, Alpha
from assetcore.worker.backend import ErrorCode, StepError

Mask = npt.NDArray[np.bool_]
MIN_SUBJECT_PX = 16
_MIN_TOLERANCE = 0.1  # RGB distance (0..1 a channel) still counted as background
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class CleanMatte:
    mask: Mask
    specks_removed: int
    holes_filled: int


def border_colour(rgb: RGB8) -> tuple[int, int, int]:
    """The median colour of the image's outer ring: the backdrop of a concept image."""
    return _rounded(np.median(_border_pixels(rgb), axis=0))


def estimate_matte(rgb: RGB8) -> Mask:
    """The subject is everything not connected to the border through backdrop-coloured pixels."""
    border = _border_pixels(rgb)
    backdrop = np.median(border, axis=0)
    spread = float(np.median(np.linalg.norm(border - backdrop, axis=1))) / 255.0
    tolerance = max(_MIN_TOLERANCE, 5.0 * spread)
    distance = np.linalg.norm(rgb.astype(np.float32) - backdrop, axis=2) / 255.0
    labels, _ = ndimage.label(distance < tolerance)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~np.isin(labels, edge_labels[edge_labels > 0])


def _border_pixels(rgb: RGB8) -> npt.NDArray[np.float32]:
    ring = max(2, min(rgb.shape[:2]) // 100)
    sides = (rgb[:ring], rgb[-ring:], rgb[:, :ring], rgb[:, -ring:])
    return np.concatenate([side.reshape(-1, 3) for side in sides], dtype=np.float32)


def _rounded(colour: npt.NDArray[np.float32]) -> tuple[int, int, int]:
    return round(float(colour[0])), round(float(colour[1])), round(float(colour[2]))


def clean_matte(mask: Mask, *, min_component: float, max_hole: float) -> CleanMatte:
    """Drop islands smaller than `min_component` of the largest; fill holes up to `max_hole` of the area."""
    labels, count = ndimage.label(mask, structure=_EIGHT)
    if count == 0:
        raise StepError(ErrorCode.EMPTY_MATTE, "image: the alpha matte is empty (no subject pixels)")
    areas = np.bincount(labels.ravel())[1:]
    keep = areas >= max(1.0, min_component * float(areas.max()))
    kept = np.concatenate([[False], keep])[labels]
    if int(kept.sum()) < MIN_SUBJECT_PX:
        raise StepError(ErrorCode.EMPTY_MATTE, f"image: the matte's subject is under {MIN_SUBJECT_PX} pixels")

    gaps, gap_count = ndimage.label(~kept)  # 4-connected background regions
    border_gaps = np.unique(np.concatenate([gaps[0], gaps[-1], gaps[:, 0], gaps[:, -1]]))
    gap_areas = np.bincount(gaps.ravel(), minlength=gap_count + 1)
    small = gap_areas <= max_hole * float(kept.sum())
    small[0] = False
    small[border_gaps] = False
    filled = kept | small[gaps]
    return CleanMatte(filled, int(count - keep.sum()), int(small.sum()))


def edge_alpha(mask: Mask, soft: Alpha | None) -> Alpha:
    """1 inside, 0 outside, and on the one-pixel band along the edge the soft alpha (or a smoothed mask)."""
    interior = ndimage.minimum_filter(mask, size=3, mode="constant", cval=False)
    exterior = ~ndimage.maximum_filter(mask, size=3)
    if soft is None:
        soft = ndimage.gaussian_filter(mask.astype(np.float32), 0.6)
    alpha = np.where(interior, 1.0, np.where(exterior, 0.0, np.clip(soft, 0.0, 1.0)))
    return alpha.astype(np.float32)
