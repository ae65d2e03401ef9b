"""retopo chart merging: a tiny chart joins its neighbour without flipped, distorted or
overlapping triangles, and stays apart when joining would distort it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from assetcore.geometry.meshops import components
from services.retopo.bake import rasterise
from services.retopo.chart_merging import merge_small_charts
from services.retopo.merge_checks import MAX_DISTORTION
from services.retopo.packing import pack_charts

CELLS = 16  # a CELLS x CELLS grid: the corner cell's two triangles hold 0.4 % of the surface
SIZE = 256

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _two_charts(
    neighbour_uv: npt.NDArray[np.float64],
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """A flat square grid cut into two charts: the corner cell (its own copies of its four
    vertices, laid out far away) and the rest, whose UVs are the positions times
    `neighbour_uv` (a 2 x 2 matrix). (positions, source_vertex, faces, uvs)."""
    side = CELLS + 1
    x, y = np.meshgrid(np.arange(side, dtype=np.float64), np.arange(side, dtype=np.float64), indexing="ij")
    positions = np.column_stack([x.ravel(), y.ravel(), np.zeros(side * side)])
    corner = np.arange(side * side).reshape(side, side)
    a, b, c, d = (
        corner[:-1, :-1].ravel(),
        corner[1:, :-1].ravel(),
        corner[1:, 1:].ravel(),
        corner[:-1, 1:].ravel(),
    )
    faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    tiny = np.array([0, CELLS * CELLS])  # both triangles of cell (0, 0)
    copies = np.unique(faces[tiny])
    source_vertex = np.concatenate([np.arange(side * side), copies])
    faces[tiny] = len(positions) + np.searchsorted(copies, faces[tiny])
    uvs = positions[source_vertex, :2] @ neighbour_uv.T
    uvs[len(positions) :] = positions[copies, :2] + [40.0, 40.0]
    return positions, source_vertex, faces, uvs


def _signed_areas(uvs: FloatArray, faces: IntArray) -> FloatArray:
    corners = uvs[faces]
    a, b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    result: FloatArray = (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / 2.0
    return result


@pytest.mark.parametrize("mirror", [1.0, -1.0], ids=["as_on_surface", "mirrored"])
def test_tiny_chart_joins_its_neighbour_unflipped_and_undistorted(mirror: float) -> None:
    positions, source_vertex, faces, uvs = _two_charts(np.diag([mirror, 1.0]))
    assert components(faces, len(uvs))[0] == 2
    new_source, new_faces, new_uvs = merge_small_charts(positions, source_vertex, faces, uvs)
    assert components(new_faces, len(new_uvs))[0] == 1
    np.testing.assert_array_equal(new_source[new_faces], source_vertex[faces])  # same faces, same corners
    signed = _signed_areas(new_uvs, new_faces)
    assert (np.sign(signed) == np.sign(signed[-1])).all()  # no flipped triangle
    # the flat corner cell continues its neighbour's layout: area and shape as on the surface
    np.testing.assert_allclose(np.abs(signed), 0.5, rtol=1e-6)
    np.testing.assert_allclose(new_uvs, positions[new_source, :2] * [mirror, 1.0], atol=1e-6)


def test_merged_layout_packs_without_overlap() -> None:
    positions, source_vertex, faces, uvs = _two_charts(np.eye(2))
    _, new_faces, new_uvs = merge_small_charts(positions, source_vertex, faces, uvs)
    packed = pack_charts(new_uvs, new_faces, SIZE, 2)
    assert packed.min() >= 0.0 and packed.max() <= 1.0
    _, island = components(new_faces, len(new_uvs))
    texels = rasterise(new_faces, packed.astype(np.float32), SIZE)
    hits = np.unique(np.column_stack([texels.rows * SIZE + texels.cols, island[texels.faces]]), axis=0)
    _, islands_per_texel = np.unique(hits[:, 0], return_counts=True)
    assert islands_per_texel.max() == 1


def test_merge_that_would_distort_is_refused() -> None:
    """The neighbour is stretched beyond the bound along u: the corner cell, pinned to its seam,
    would be stretched as much, so it keeps its own chart and layout."""
    stretch = np.diag([1.5 * MAX_DISTORTION, 1.0])
    positions, source_vertex, faces, uvs = _two_charts(stretch)
    new_source, new_faces, new_uvs = merge_small_charts(positions, source_vertex, faces, uvs)
    assert components(new_faces, len(new_uvs))[0] == 2
    np.testing.assert_array_equal(new_source[new_faces], source_vertex[faces])
    np.testing.assert_array_equal(new_uvs[new_faces], uvs[faces])
