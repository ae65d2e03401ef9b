"""Bake the source colours into a base-colour texture on new UVs.

Every triangle is rasterised in UV space (the texels whose centres lie inside it); each
covered texel's 3D point on the low-poly surface takes the source's colour there. Texels no
triangle covers are then filled with the colour of the nearest covered texel (edge dilation
over the whole texture), so bilinear filtering and mip-maps never pull in a background
colour.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

from services.retopo.colour_source import ColourSource

EDGE_EPSILON = 1e-9  # texel centres exactly on an edge belong to the triangles on both sides
BATCH = 1 << 20  # texels tested per batch (bounds memory)
PNG_COMPRESSION = 3  # zlib level: a quarter of the default's time for a few % larger files


def bake_texture(
    positions: npt.NDArray[np.float64],
    faces: npt.NDArray[np.int64],
    uvs: npt.NDArray[np.float32],
    source: ColourSource,
    size: int,
) -> bytes:
    """An sRGB PNG, size x size, of the source's colours on the mesh's UV layout."""
    texels = rasterise(faces, uvs, size)
    points = np.einsum("ij,ijk->ik", texels.barycentric, positions[faces[texels.faces]])
    texture = np.zeros((size, size, 3))
    texture[texels.rows, texels.cols] = source.colours(points)
    covered = np.zeros((size, size), bool)
    covered[texels.rows, texels.cols] = True
    _, (near_row, near_col) = ndimage.distance_transform_edt(~covered, return_indices=True)
    image = Image.fromarray(np.round(texture[near_row, near_col] * 255.0).astype(np.uint8), mode="RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=PNG_COMPRESSION)
    return out.getvalue()


@dataclass(frozen=True)
class Texels:
    """Covered texels: each one's row, column, triangle and barycentric coordinates in it."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    faces: npt.NDArray[np.int64]
    barycentric: npt.NDArray[np.float64]


def rasterise(faces: npt.NDArray[np.int64], uvs: npt.NDArray[np.float32], size: int) -> Texels:
    """The texels whose centres lie inside a triangle in UV space. Each triangle's bounding
    box of texels is tested, for batches of triangles with about BATCH texels in all."""
    corners = uvs[faces].astype(np.float64) * size - 0.5  # texel centres at integer coordinates
    low = np.clip(np.ceil(corners.min(axis=1) - EDGE_EPSILON), 0, size - 1).astype(np.int64)
    high = np.clip(np.floor(corners.max(axis=1) + EDGE_EPSILON), 0, size - 1).astype(np.int64)
    extent = high - low + 1
    planes = _barycentric_planes(corners)
    cumulative = np.cumsum(extent[:, 0] * extent[:, 1])
    cuts = np.searchsorted(cumulative, np.arange(BATCH, int(cumulative[-1]), BATCH))
    edges = np.unique(np.concatenate([[0], cuts, [len(faces)]]))
    batches = [
        _covered(np.arange(start, end), planes, low, extent) for start, end in itertools.pairwise(edges)
    ]
    return Texels(
        *(np.concatenate([getattr(batch, name) for batch in batches]) for name in Texels.__annotations__)
    )


def _covered(
    chosen: npt.NDArray[np.int64],
    planes: npt.NDArray[np.float64],
    low: npt.NDArray[np.int64],
    extent: npt.NDArray[np.int64],
) -> Texels:
    counts = extent[chosen, 0] * extent[chosen, 1]
    face = np.repeat(chosen, counts)
    offset = np.arange(len(face)) - np.repeat(np.cumsum(counts) - counts, counts)
    col = low[face, 0] + offset % extent[face, 0]
    row = low[face, 1] + offset // extent[face, 0]
    plane = planes[face]
    bary = plane[:, :, 0] * col[:, None] + plane[:, :, 1] * row[:, None] + plane[:, :, 2]
    inside = (bary >= -EDGE_EPSILON).all(axis=1)
    return Texels(row[inside], col[inside], face[inside], np.clip(bary[inside], 0.0, 1.0))


def _barycentric_planes(corners: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(F, 3, 3): barycentric coordinate k of a point (x, y) in triangle f is
    planes[f, k] . (x, y, 1). Degenerate triangles get planes that put every point outside."""
    following, opposite = np.roll(corners, -1, axis=1), np.roll(corners, -2, axis=1)
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0]
    valid = np.abs(area) > 1e-12
    scale = np.where(valid, 1.0 / np.where(valid, area, 1.0), 0.0)[:, None]
    planes: npt.NDArray[np.float64] = np.stack(
        [
            (following[:, :, 1] - opposite[:, :, 1]) * scale,
            (opposite[:, :, 0] - following[:, :, 0]) * scale,
            (following[:, :, 0] * opposite[:, :, 1] - opposite[:, :, 0] * following[:, :, 1]) * scale,
        ],
        axis=2,
    )
    planes[~valid, :, 2] = -1.0
    return planes
