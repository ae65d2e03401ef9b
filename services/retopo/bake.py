"""Bake the source's colours, shading and materials into base-colour, normal and
metallic-roughness maps on new UVs.

Every triangle is rasterised in UV space (the texels whose centres lie inside it); each
covered texel's 3D point on the low-poly surface takes the source's colour there, its
normal in the texel's tangent frame (services.retopo.normal_map), and its metallic and
roughness (services.retopo.metal_rough_source) when the source has materials. Texels no
triangle covers are then filled with the value of the nearest covered texel (edge dilation
over the whole texture), so bilinear filtering and mip-maps never pull in a background value.
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
from services.retopo.metal_rough_source import MetalRoughSource
from services.retopo.normal_map import NormalSource, encode_normals, vertex_tangents

EDGE_EPSILON = 1e-9  # texel centres exactly on an edge belong to the triangles on both sides
BATCH = 1 << 20  # texels tested per batch (bounds memory)
PNG_COMPRESSION = 3  # zlib level: a quarter of the default's time for a few % larger files
UNUSED_RED = 1.0  # glTF ignores R of a metallicRoughness texture; white reads as "no occlusion" in ORM maps


@dataclass(frozen=True)
class Baked:
    colour_png: bytes  # sRGB base colour
    normal_png: bytes  # tangent-space normals (linear), in the frame `tangents` defines
    tangents: npt.NDArray[np.float32]  # (V, 4), see normal_map.vertex_tangents
    # glTF metallicRoughness (linear: G roughness, B metallic); None when the source has no materials
    metal_rough_png: bytes | None


def bake_maps(
    positions: npt.NDArray[np.float64],
    normals: npt.NDArray[np.float32],
    faces: npt.NDArray[np.int64],
    uvs: npt.NDArray[np.float32],
    colours: ColourSource,
    shading: NormalSource,
    size: int,
    materials: MetalRoughSource | None = None,
) -> Baked:
    """The base-colour, normal and (when `materials` has values) metallic-roughness maps, size x
    size, of a mesh's UV layout (one rasterisation, one set of surface points, one dilation)."""
    texels = rasterise(faces, uvs, size)
    points = np.einsum("ij,ijk->ik", texels.barycentric, positions[faces[texels.faces]])
    tangents = vertex_tangents(positions, normals, faces, uvs)
    hits = colours.closest(points)
    rgb = encode_normals(normals, tangents, faces[texels.faces], texels.barycentric, shading.normals_at(hits))
    canvas = _Canvas(texels, size)
    metal_rough = None if materials is None else materials.values_at(hits)
    metal_rough_png = None
    if metal_rough is not None:
        red = np.full((len(metal_rough), 1), UNUSED_RED)
        metal_rough_png = canvas.png(np.column_stack([red, metal_rough[:, 1], metal_rough[:, 0]]))
    return Baked(canvas.png(colours.colours_at(hits)), canvas.png(rgb), tangents, metal_rough_png)


class _Canvas:
    """One layout's covered texels, and the nearest covered texel of every texel (the dilation)."""

    def __init__(self, texels: Texels, size: int) -> None:
        self._size = size
        self._covered = texels.rows * size + texels.cols  # flat texel indices
        covered = np.zeros((size, size), bool)
        covered[texels.rows, texels.cols] = True
        _, (near_row, near_col) = ndimage.distance_transform_edt(~covered, return_indices=True)
        self._nearest = (near_row * size + near_col).reshape(-1)

    def png(self, values: npt.NDArray[np.float64]) -> bytes:
        """An RGB PNG of `values` (0..1, one row per covered texel), dilated over the rest.
        Quantised to 8 bits before the dilation: it copies bytes rather than floats."""
        texture = np.zeros((self._size * self._size, 3), np.uint8)
        texture[self._covered] = np.round(np.clip(values, 0.0, 1.0) * 255.0)
        dilated = texture[self._nearest].reshape(self._size, self._size, 3)
        image = Image.fromarray(dilated, mode="RGB")
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
