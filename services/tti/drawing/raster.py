"""Rasterise a figure into a piece-label map and an antialiased coverage (the alpha matte)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
from scipy import ndimage

from services.tti.drawing.figure import Figure

MAX_PIECES = 255
_SUPERSAMPLED_SIDE = 4096  # labels are drawn at up to 4x the output and averaged down for the matte


@dataclass(frozen=True)
class Raster:
    labels: npt.NDArray[np.uint8]  # (H, W) piece index + 1; 0 is background
    coverage: npt.NDArray[np.float32]  # (H, W) 0..1 share of the pixel the subject covers


def rasterise(figure: Figure, size: int, margin: float) -> Raster:
    """Fit the figure, centred, into a size x size canvas leaving `margin` (a fraction) on each side."""
    if not figure.strokes or len(figure.pieces) > MAX_PIECES:
        raise ValueError(f"a figure needs 1..{MAX_PIECES} pieces, got {len(figure.pieces)}")
    factor = max(1, min(4, _SUPERSAMPLED_SIDE // size))
    side = size * factor
    centre, span = framing(figure)
    scale = (1.0 - 2.0 * margin) * side / span

    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    for index, points in figure.strokes:
        pixels = (points - centre) * (scale, -scale) + side / 2.0
        draw.polygon([tuple(p) for p in pixels.tolist()], fill=index + 1)
    labels = np.asarray(canvas).copy()
    if figure.symmetric:
        labels[:, side // 2 :] = labels[:, : side // 2][:, ::-1]

    coverage = _box_downsample(np.where(labels > 0, 255, 0).astype(np.uint8), factor)
    return Raster(_label_downsample(labels, factor, coverage), coverage)


def framing(figure: Figure) -> tuple[npt.NDArray[np.float64], float]:
    """The figure's centre and its larger side, in figure units: the concept image fits that side
    into the canvas less its margins; the views share the framing."""
    x0, y0, x1, y1 = figure.bounds()
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    if figure.symmetric:
        centre[0] = 0.0
    return centre, max(x1 - x0, y1 - y0, 1e-9)


@dataclass(frozen=True)
class PieceMask:
    """One piece's own coverage of a grid: `mask` is its window at rows/columns from (row, column)."""

    row: int
    column: int
    mask: npt.NDArray[np.bool_]


def piece_masks(
    figure: Figure, side: int, centre: npt.NDArray[np.float64], half: float
) -> list[PieceMask | None]:
    """Each piece rasterised on its own into a side x side grid showing [-half, half]^2 about
    `centre` (rows downwards); None for a piece too small to cover a pixel centre."""
    scale = side / (2.0 * half)
    polygons: list[list[npt.NDArray[np.float64]]] = [[] for _ in figure.pieces]
    for index, points in figure.strokes:
        polygons[index].append((points - centre) * (scale, -scale) + side / 2.0)
    masks: list[PieceMask | None] = []
    for shapes in polygons:
        if not shapes:
            masks.append(None)
            continue
        corners = np.concatenate(shapes)
        (c0, r0), (c1, r1) = np.floor(corners.min(axis=0)), np.ceil(corners.max(axis=0))
        r0, c0 = int(max(r0, 0)), int(max(c0, 0))
        r1, c1 = int(min(r1, side - 1)), int(min(c1, side - 1))
        canvas = Image.new("1", (c1 - c0 + 1, r1 - r0 + 1), 0)
        draw = ImageDraw.Draw(canvas)
        for pixels in shapes:
            draw.polygon([tuple(p) for p in (pixels - (c0, r0)).tolist()], fill=1)
        mask = np.asarray(canvas, dtype=bool)
        masks.append(PieceMask(r0, c0, mask) if mask.any() else None)
    return masks


def _box_downsample(mask: npt.NDArray[np.uint8], factor: int) -> npt.NDArray[np.float32]:
    reduced = Image.fromarray(mask).reduce(factor) if factor > 1 else Image.fromarray(mask)
    return np.asarray(reduced, dtype=np.float32) / 255.0


def _label_downsample(
    labels: npt.NDArray[np.uint8], factor: int, coverage: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint8]:
    """The label at each output pixel's centre; edge pixels whose centre missed take a neighbour's."""
    centre = labels[factor // 2 :: factor, factor // 2 :: factor]
    missing = (centre == 0) & (coverage > 0)
    if missing.any():
        centre = np.where(missing, ndimage.maximum_filter(centre, size=3), centre)
    missing = (centre == 0) & (coverage > 0)
    if missing.any():  # slivers thinner than a pixel: take the nearest labelled pixel
        nearest = ndimage.distance_transform_edt(centre == 0, return_distances=False, return_indices=True)
        centre = np.where(missing, centre[nearest[0], nearest[1]], centre)
    return np.ascontiguousarray(centre, dtype=np.uint8)
