"""retopo chart packing: masks hold every cell a grown chart touches, masks nest by shape,
and packed charts keep their shapes, apart, in the unit square."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from assetcore.geometry.meshops import components
from services.retopo.bake import rasterise
from services.retopo.chart_masks import chart_masks
from services.retopo.occupancy import Occupancy, Placement
from services.retopo.packing import pack_charts

SIZE = 256
PADDING = 2


def _touches(triangle: npt.NDArray[np.float64], centre: tuple[float, float], half: float) -> bool:
    """Reference: does the square of half-size `half` round `centre` meet the triangle? No
    separating axis among x, y and the triangle's edge normals."""
    square = np.array(list(itertools.product(*[(c - half, c + half) for c in centre])))
    edges = np.roll(triangle, -1, axis=0) - triangle
    axes = [np.array([1.0, 0.0]), np.array([0.0, 1.0])] + [np.array([-e[1], e[0]]) for e in edges]
    for axis in axes:
        if np.dot(axis, axis) == 0.0:
            continue
        a, b = triangle @ axis, square @ axis
        if a.max() < b.min() - 1e-9 or b.max() < a.min() - 1e-9:
            return False
    return True


def test_masks_hold_exactly_the_cells_a_grown_chart_touches() -> None:
    rng = np.random.default_rng(5)
    margin = 0.5
    corners = rng.uniform(margin, 9.0 - margin, (12, 3, 2))
    corners[0, 2] = corners[0, 0] + 0.5 * (corners[0, 1] - corners[0, 0])  # degenerate: a segment
    corners[1, 1:] = corners[1, 0]  # degenerate: a point
    corners[2] = [[1.0, 1.0], [8.0, 1.3], [1.0, 1.6]]  # a sliver
    chart_of_face = np.repeat(np.arange(4), 3)
    shapes = np.full((4, 2), 9)
    masks = chart_masks(corners, chart_of_face, shapes, margin)
    for chart, mask in enumerate(masks):
        expected = np.array(
            [
                [
                    any(
                        _touches(t, (col + 0.5, row + 0.5), 0.5 + margin)
                        for t in corners[chart_of_face == chart]
                    )
                    for col in range(9)
                ]
                for row in range(9)
            ]
        )
        np.testing.assert_array_equal(mask, expected)


def test_a_mask_nests_in_another_masks_notch() -> None:
    """Shapes, not boxes: a 2x2 square goes into the notch of an L, not on top of it."""
    strip = Occupancy(4, 8)
    ell = np.array([[1, 1, 1], [1, 0, 0], [1, 0, 0]], bool)
    assert strip.place(ell) == Placement(0, 0, 0)
    assert strip.place(np.ones((2, 2), bool)) == Placement(1, 1, 0)
    assert strip.height == 3


def test_a_mask_turns_to_reach_lowest_and_none_when_it_cannot_fit() -> None:
    strip = Occupancy(5, 5)
    assert strip.place(np.ones((5, 1), bool)) == Placement(0, 0, 1)  # lying down
    assert strip.place(np.ones((1, 6), bool)) is None
    assert strip.height == 1


def _charts() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Separate charts (each its own vertices) in arbitrary UV units: long strips that pack
    best turned, an L and small triangles."""
    uvs: list[list[float]] = []
    faces: list[list[int]] = []

    def add(points: list[tuple[float, float]], triangles: list[tuple[int, int, int]]) -> None:
        base = len(uvs)
        uvs.extend([list(p) for p in points])
        faces.extend([[base + a, base + b, base + c] for a, b, c in triangles])

    quad = [(0, 1, 2), (0, 2, 3)]
    for width, height in [(1.0, 9.0), (0.8, 7.0), (2.0, 3.0), (6.0, 1.0)]:
        add([(5.0, 5.0), (5.0 + width, 5.0), (5.0 + width, 5.0 + height), (5.0, 5.0 + height)], quad)
    ell = [(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)]
    add([(x + 2.0, y - 1.0) for x, y in ell], [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 5)])
    for k in range(6):
        add([(k, 0.0), (k + 0.4, 0.1), (k + 0.1, 0.5)], [(0, 1, 2)])
    return np.array(uvs, np.float64), np.array(faces, np.int64)


def test_packed_charts_keep_their_shapes_under_one_scale() -> None:
    uvs, faces = _charts()
    packed = pack_charts(uvs, faces, SIZE, PADDING)
    assert packed.min() >= 0.0 and packed.max() <= 1.0
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    before, after = uvs[edges[:, 1]] - uvs[edges[:, 0]], packed[edges[:, 1]] - packed[edges[:, 0]]
    scale = np.linalg.norm(after, axis=1) / np.linalg.norm(before, axis=1)
    np.testing.assert_allclose(scale, scale[0], rtol=1e-9)
    # turned by quarter turns only (never mirrored), and some charts were turned
    angle = np.degrees(np.arctan2(after[:, 1], after[:, 0]) - np.arctan2(before[:, 1], before[:, 0])) % 360.0
    np.testing.assert_allclose(np.minimum(angle % 90.0, 90.0 - angle % 90.0), 0.0, atol=1e-6)
    assert np.any(np.round(angle / 90.0) % 4 != 0)


@pytest.mark.parametrize("size", [SIZE, 128])
def test_packed_charts_stay_a_padding_apart(size: int) -> None:
    uvs, faces = _charts()
    packed = pack_charts(uvs, faces, size, PADDING)
    _, chart = components(faces, len(uvs))
    texels = rasterise(faces, packed.astype(np.float32), size)
    owner = np.full((size + 2, size + 2), -1)
    owner[texels.rows + 1, texels.cols + 1] = chart[texels.faces]
    assert len(np.unique(chart[texels.faces])) == chart.max() + 1  # every chart covers texels
    # texels of two charts are never neighbours (8-connected): at least a texel between them
    for d_row, d_col in itertools.product((-1, 0, 1), repeat=2):
        near = np.roll(owner, (d_row, d_col), axis=(0, 1))
        assert not np.any((owner >= 0) & (near >= 0) & (owner != near))


def test_charts_without_area_still_pack() -> None:
    """Faces xatlas leaves out of every chart all sit at one UV point."""
    uvs = np.zeros((6, 2))
    uvs[3:] = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]  # a chart that is a segment
    packed = pack_charts(uvs, np.array([[0, 1, 2], [3, 4, 5]]), SIZE, PADDING)
    assert np.isfinite(packed).all() and packed.min() >= 0.0 and packed.max() <= 1.0
