"""Shade a rasterised figure: base colours, rounded-edge lighting, material textures, outlines."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from services.tti.drawing.figure import RGB, Piece
from services.tti.drawing.palette import MATERIAL_LOOKS, Style
from services.tti.drawing.raster import Raster
from services.tti.drawing.textures import PatternMaker

BACKGROUND: RGB = (0.94, 0.94, 0.94)  # the plain backdrop under the transparent pixels
_LIGHT = np.array([0.0, 1.0, 1.0], dtype=np.float32) / np.sqrt(2.0)  # from above the viewer (x, y up, z out)
_VIEWER = np.array([0.0, 0.0, 1.0], dtype=np.float32)
_HALFWAY = (_LIGHT + _VIEWER) / np.linalg.norm(_LIGHT + _VIEWER)


def shade(
    raster: Raster, pieces: list[Piece], style: Style, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """The RGBA image: straight (not premultiplied) colour, alpha = the coverage."""
    size = raster.labels.shape[0]
    rgba = np.empty((*raster.labels.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.round(np.array(BACKGROUND) * 255.0).astype(np.uint8)
    rgba[..., 3] = np.round(raster.coverage * 255.0).astype(np.uint8)

    rows, cols = _subject_window(raster.labels)
    labels = raster.labels[rows, cols]
    distance = ndimage.distance_transform_edt(~_piece_edges(labels)).astype(np.float32)
    table = _PieceTable(pieces, size)
    normal_y, normal_z = _normals(labels, distance, table)
    colour = table.rgb[labels] * _lighting(labels, normal_y, normal_z, table, style)[..., None]
    colour *= (
        1.0
        + _texture(
            labels, table, style, PatternMaker((labels.shape[0], labels.shape[1]), size / 1024.0, rng)
        )[..., None]
    )
    colour += _highlight(labels, normal_y, normal_z, table, style)[..., None]
    if style.outline_px > 0:
        width = style.outline_px * size / 1024.0
        line = np.clip(width + 0.5 - distance, 0.0, 1.0) * style.outline_darkness
        colour *= (1.0 - line)[..., None]
    inside = labels > 0
    window = rgba[rows, cols, :3]  # a view: writing it writes the image
    window[inside] = np.round(np.clip(colour[inside], 0.0, 1.0) * 255.0).astype(np.uint8)
    return rgba


class _PieceTable:
    """Per-label arrays (index 0 is the background) for vectorised lookups."""

    def __init__(self, pieces: list[Piece], size: int) -> None:
        looks = [MATERIAL_LOOKS[p.paint.material] for p in pieces]
        self.rgb = np.array([(0.0, 0.0, 0.0), *(p.paint.rgb for p in pieces)], dtype=np.float32)
        self.radius = np.array([0.0, *(p.roundness * size for p in pieces)], dtype=np.float32)
        self.specular = np.array([0.0, *(look.specular for look in looks)], dtype=np.float32)
        self.shininess = np.array([1.0, *(look.shininess for look in looks)], dtype=np.float32)
        self.emissive = np.array([False, *(look.emissive for look in looks)])
        self.textures = [
            (i + 1, look.texture, look.texture_strength, p.grain_vertical)
            for i, (p, look) in enumerate(zip(pieces, looks, strict=True))
            if look.texture != "none"
        ]


def _subject_window(labels: npt.NDArray[np.uint8]) -> tuple[slice, slice]:
    """The subject's bounding box plus a pixel, so the expensive fields are computed only there."""
    ys, xs = np.nonzero(labels)
    h, w = labels.shape
    return slice(max(0, ys.min() - 1), min(h, ys.max() + 2)), slice(
        max(0, xs.min() - 1), min(w, xs.max() + 2)
    )


def _piece_edges(labels: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels next to a different piece or the background (the silhouette and the inner lines)."""
    edges: npt.NDArray[np.bool_] = labels == 0
    across = labels[:, 1:] != labels[:, :-1]
    down = labels[1:, :] != labels[:-1, :]
    edges[:, 1:] |= across
    edges[:, :-1] |= across
    edges[1:, :] |= down
    edges[:-1, :] |= down
    return edges


def _normals(
    labels: npt.NDArray[np.uint8], distance: npt.NDArray[np.float32], table: _PieceTable
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The up and towards-viewer parts of the surface normal, each piece a slab with rounded edges.

    Within a piece's radius of its edge the profile is a quarter circle: the normal turns from
    sideways at the edge to facing the viewer; `distance` grows inwards, so its gradient points in.
    """
    radius = table.radius[labels]
    depth = np.where(radius > 0, np.clip(distance / np.maximum(radius, 1e-6), 0.0, 1.0), 1.0)
    gradient_rows, gradient_cols = np.gradient(ndimage.gaussian_filter(distance, 1.0))
    tilt = 1.0 - depth
    normal_x, normal_y = -tilt * gradient_cols, tilt * gradient_rows  # image rows grow downwards
    normal_z = np.sqrt(np.clip(1.0 - normal_x**2 - normal_y**2, 0.0, 1.0))
    return normal_y.astype(np.float32), normal_z.astype(np.float32)


def _lighting(
    labels: npt.NDArray[np.uint8],
    normal_y: npt.NDArray[np.float32],
    normal_z: npt.NDArray[np.float32],
    table: _PieceTable,
    style: Style,
) -> npt.NDArray[np.float32]:
    """Brightness factors: 1 where a surface faces the viewer, so flat areas keep their exact colour."""
    lambert = np.clip(normal_y * _LIGHT[1] + normal_z * _LIGHT[2], 0.0, 1.0)
    if style.bands:
        lambert = np.ceil(lambert * style.bands) / style.bands
    light = (1.0 - style.diffuse * float(_LIGHT[2])) + style.diffuse * lambert
    return np.where(table.emissive[labels], 1.0, light).astype(np.float32)


def _highlight(
    labels: npt.NDArray[np.uint8],
    normal_y: npt.NDArray[np.float32],
    normal_z: npt.NDArray[np.float32],
    table: _PieceTable,
    style: Style,
) -> npt.NDArray[np.float32]:
    cosine = np.clip(normal_y * _HALFWAY[1] + normal_z * _HALFWAY[2], 0.0, 1.0)
    highlight = table.specular[labels] * cosine ** table.shininess[labels] * style.specular
    if style.bands:
        highlight = np.where(highlight > 0.25, 0.35, 0.0)
    return np.asarray(highlight, dtype=np.float32)


def _texture(
    labels: npt.NDArray[np.uint8], table: _PieceTable, style: Style, patterns: PatternMaker
) -> npt.NDArray[np.float32]:
    """Relative brightness changes: a pattern per material scaled by its strength; 0 elsewhere."""
    result = np.zeros(labels.shape, dtype=np.float32)
    if style.texture == 0.0:
        return result
    made: dict[tuple[str, bool], npt.NDArray[np.float32]] = {}
    for label, kind, strength, vertical in table.textures:
        mask = labels == label
        if not mask.any():
            continue
        key = (kind, vertical if kind == "grain" else False)
        if key not in made:
            made[key] = patterns.make(kind, key[1])
        result[mask] = made[key][mask] * strength * style.texture
    return result
