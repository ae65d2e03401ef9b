"""UV atlas metrics: the share of the texture that triangles cover, and how many islands there are."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from assetcore.geometry.meshops import components

COVERAGE_RESOLUTION = 1024  # texels per side of the coverage raster
WELD_DECIMALS = 6  # corners equal to this many decimals (position and UV) are one corner


def uv_coverage(uvs: npt.ArrayLike, faces: npt.ArrayLike, resolution: int = COVERAGE_RESOLUTION) -> float:
    """Share (0..1) of the unit UV square covered by at least one triangle, on a raster."""
    corners = np.asarray(uvs, dtype=np.float64)[np.asarray(faces, dtype=np.int64)] * resolution
    mask = Image.new("1", (resolution, resolution), 0)
    draw = ImageDraw.Draw(mask)
    for triangle in corners:
        draw.polygon([(float(x), float(y)) for x, y in triangle], fill=1)
    return float(np.asarray(mask, dtype=bool).mean())


def uv_islands(positions: npt.ArrayLike, uvs: npt.ArrayLike, faces: npt.ArrayLike) -> int:
    """Connected groups of faces that share a corner both on the surface and in UV space.

    glTF splits vertices at UV seams (and sometimes elsewhere), so vertices are first welded
    by equal position and UV; faces joined through a welded vertex are one island.
    """
    keys = np.round(
        np.hstack([np.asarray(positions, np.float64), np.asarray(uvs, np.float64)]), WELD_DECIMALS
    )
    _, welded = np.unique(keys, axis=0, return_inverse=True)
    welded_faces = welded.reshape(-1)[np.asarray(faces, dtype=np.int64)]
    used, compact_faces = np.unique(welded_faces, return_inverse=True)
    count, _ = components(compact_faces.reshape(-1, 3), len(used))
    return int(count)
