"""A closed mesh carved from orthographic views with a known framing (assetcore/multiview.py).

Visual hull: a point is inside when every view's matte (dilated by DILATION_PX, which forgives
anti-aliasing and rasterisation differences between views) covers its projection. The field is
the smallest of the views' signed distances to their matte edges, so marching cubes puts the
surface between voxels where the silhouettes say, not on a staircase.

Rounding: the hull of a round body seen from the front and the side is box-like in every
horizontal cross-section (the top view only carves what sticks out). Each horizontal slice is
cut down to a stadium inscribed in the rectangle that the front view's run along x and the side
view's run along z (both in the slice's image row) make around the point: corner radius
min(W, D) for half-widths W, D. A square turns into a circle (limbs, the head), a long thin
rectangle keeps its flat faces and gets a round rim (a shield stays a disc, not a lens), a
foot keeps its forward length, and every rectangle still touches its four sides, so the front
and side silhouettes are unchanged. Box-like props round only their edges (BOX_ROUNDING).
Parts lying along z (a quadruped's body) are then rounded across as well (`lengthwise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import trimesh
from scipy import ndimage
from skimage import measure

from assetcore.geometry import meshops
from assetcore.geometry.camera import Camera
from assetcore.multiview import Multiview
from services.image3d.lengthwise import lengthwise_cut
from services.image3d.volume import ViewMesh

FloatArray = npt.NDArray[np.float64]

MATTE_THRESHOLD = 0.5
DILATION_PX = 0.5
COARSE_SAMPLES = 64  # the grid that finds the hull's bounding box
MARGIN_VOXELS = 2
AXIS_ALIGNED = 0.999  # |cos| between a camera direction and an axis for it to count as that axis's view
BOX_ROUNDING = 0.15  # box-like props: corner radius as a share of the smaller half-width
ROW_BLEND_CLAMP_PX = 2.0  # rows' stadium fields are blended after clamping this far outside
SMOOTHING_ITERATIONS = 30  # Taubin passes: the silhouettes' pixel rows leave no terraces on the surface
LEVEL_CLEARANCE = 1e-3  # voxels between the field's level and any grid point's value


@dataclass(frozen=True)
class Matte:
    """One view's matte as a field: signed distance to its (dilated) edge, in frame units."""

    camera: Camera
    distance: FloatArray  # (tile, tile), > 0 inside
    inside: npt.NDArray[np.bool_]  # the dilated matte

    @classmethod
    def of(cls, alpha: npt.NDArray[np.uint8], camera: Camera, pixel: float) -> Matte:
        matte = alpha >= MATTE_THRESHOLD * 255
        signed = np.where(
            matte,
            ndimage.distance_transform_edt(matte) - 0.5,
            0.5 - ndimage.distance_transform_edt(~matte),
        )
        dilated = signed + DILATION_PX
        return cls(camera, dilated * pixel, dilated > 0)


def visual_hull(views: Multiview, resolution: int, *, box_like: bool = False) -> ViewMesh:
    """One closed surface in the views' frame (their units): `resolution` voxels along the hull's
    longest side. `views` must be orthographic with a known extent."""
    if views.extent is None:
        raise ValueError("carving needs orthographic views with a known extent")
    extent, tile = views.extent, views.tile
    mattes = [
        Matte.of(view.rgba[..., 3], views.camera(i), 2.0 * extent / tile)
        for i, view in enumerate(views.views)
    ]
    low, high = _hull_box(mattes, extent, tile)
    voxel = float((high - low).max()) / resolution
    start, stop = low - MARGIN_VOXELS * voxel, high + (MARGIN_VOXELS + 0.5) * voxel
    x, y, z = (np.arange(start[a], stop[a], voxel) for a in range(3))
    axes: Axes = (x, y, z)
    field = _hull_field(mattes, axes, extent, tile)
    rounding = _rounding_field(mattes, axes, extent, tile, BOX_ROUNDING if box_like else 1.0)
    if rounding is not None:
        field = np.minimum(field, rounding)
    if not box_like:
        stadium, weight = lengthwise_cut(field > 0)
        field = field - weight * np.maximum(field - stadium * voxel, 0.0)
    # A grid point on (or within float32 noise of) the level puts marching cubes' vertices of
    # neighbouring cells on one position, which welds into non-manifold edges: push such points
    # outside. A border outside everything keeps the surface closed where the box clipped.
    field = np.where(np.abs(field) < LEVEL_CLEARANCE * voxel, -LEVEL_CLEARANCE * voxel, field)
    padded = np.pad(field.astype(np.float32), 1, constant_values=-voxel)
    vertices, faces, _, _ = measure.marching_cubes(padded, 0.0, spacing=(voxel, voxel, voxel))
    origin = np.array([a[0] for a in axes]) - voxel
    positions, kept = meshops.largest_component(vertices.astype(np.float64) + origin, faces)
    kept = meshops.orient_outward(positions, kept)
    return ViewMesh(positions=smoothed(positions, kept), faces=kept)


def smoothed(positions: FloatArray, faces: npt.NDArray[np.int64]) -> FloatArray:
    """Taubin's low-pass filter (alternating shrink and inflate steps): terraces of a pixel row's
    height go, the volume and thin parts stay (plain Laplacian smoothing would shrink both)."""
    mesh = trimesh.Trimesh(positions, faces, process=False)
    trimesh.smoothing.filter_taubin(mesh, iterations=SMOOTHING_ITERATIONS)  # type: ignore[no-untyped-call]
    return np.asarray(mesh.vertices, np.float64)


Axes = tuple[FloatArray, FloatArray, FloatArray]


def _hull_box(mattes: list[Matte], extent: float, tile: int) -> tuple[FloatArray, FloatArray]:
    """The hull's bounding box, found on a coarse grid over the framed cube, a cell wider each way."""
    axis = np.linspace(-extent, extent, COARSE_SAMPLES)
    inside = _hull_field(mattes, (axis, axis, axis), extent, tile) > 0
    if not inside.any():
        raise ValueError("the views' mattes have no point in common")
    cell = axis[1] - axis[0]
    occupied = [np.flatnonzero(inside.any(axis=tuple(o for o in range(3) if o != a))) for a in range(3)]
    low = np.array([max(axis[o[0]] - cell, -extent) for o in occupied])
    high = np.array([min(axis[o[-1]] + cell, extent) for o in occupied])
    return low, high


def _grid_pixels(camera: Camera, axes: Axes, extent: float, tile: int) -> tuple[FloatArray, FloatArray]:
    """(row, column) of the grid's points in a view, broadcastable to the grid: an orthographic
    projection is linear, so each axis adds its own term, and an axis along the view direction
    adds none (the view's values are then computed once and repeated along it)."""
    right, up = camera.axes()
    column: FloatArray = np.zeros((1, 1, 1))
    row: FloatArray = np.zeros((1, 1, 1))
    for a, values in enumerate(axes):
        if max(abs(right[a]), abs(up[a])) < 1e-9:
            continue
        along = values.reshape([-1 if o == a else 1 for o in range(3)])
        column = column + along * right[a]
        row = row + along * up[a]
    column, row = np.broadcast_arrays(column, row)
    return (1.0 - row / extent) * 0.5 * tile, (column / extent + 1.0) * 0.5 * tile


def _hull_field(mattes: list[Matte], axes: Axes, extent: float, tile: int) -> FloatArray:
    field = np.full(tuple(len(a) for a in axes), np.inf)
    for matte in mattes:
        row, column = _grid_pixels(matte.camera, axes, extent, tile)
        outside = -float(matte.distance.max())  # off the tile: outside, as far as any pixel is inside
        sampled = ndimage.map_coordinates(
            matte.distance, [row.ravel() - 0.5, column.ravel() - 0.5], order=1, mode="constant", cval=outside
        )
        np.minimum(field, sampled.reshape(row.shape), out=field)
    return field


def _rounding_field(
    mattes: list[Matte], axes: Axes, extent: float, tile: int, roundness: float
) -> FloatArray | None:
    """Signed distance-like field of the stadiums (see the module docstring); None without a level
    front (or back) view and a level side view."""
    front = _level_view(mattes, np.array([0.0, 0.0, 1.0]))
    side = _level_view(mattes, np.array([1.0, 0.0, 0.0]))
    if front is None or side is None:
        return None
    pixel = 2.0 * extent / tile
    fields = []
    for shift in (0, 1):  # the two image rows around each point, blended: no terrace per pixel row
        offset_x, half_x, weight = _run_position(front, axes, extent, tile, shift)
        offset_z, half_z, _ = _run_position(side, axes, extent, tile, shift)
        radius = roundness * np.minimum(half_x, half_z)
        dx = np.maximum(np.abs(offset_x) - (half_x - radius), 0.0)
        dz = np.maximum(np.abs(offset_z) - (half_z - radius), 0.0)
        fields.append((np.maximum(radius - np.hypot(dx, dz), -ROW_BLEND_CLAMP_PX) * pixel, weight))
    (lower, lower_weight), (upper, _) = fields
    return np.asarray(lower * lower_weight + upper * (1.0 - lower_weight))


def _level_view(mattes: list[Matte], axis: FloatArray) -> Matte | None:
    for matte in mattes:
        if abs(float(matte.camera.direction @ axis)) >= AXIS_ALIGNED:
            return matte
    return None


def _run_position(
    matte: Matte, axes: Axes, extent: float, tile: int, shift: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each grid point's offset from the centre of the matte run along image row floor(row - 0.5) +
    `shift` (the rows whose centres bracket it), that run's half-length, in pixels ((a tile, 0) off
    the matte: far outside), and the weight of row `shift` 0 in the blend of the two."""
    start, end = _row_runs(matte.inside)
    row, column = _grid_pixels(matte.camera, axes, extent, tile)
    below = np.floor(row - 0.5)
    r = np.clip(below.astype(np.int64) + shift, 0, tile - 1)
    c = np.clip(np.floor(column).astype(np.int64), 0, tile - 1)
    on = matte.inside[r, c]
    centre = (start[r, c] + end[r, c]) / 2.0
    offset = np.where(on, column - centre, float(tile))
    return offset, np.where(on, (end[r, c] - start[r, c]) / 2.0, 0.0), 1.0 - (row - 0.5 - below)


def _row_runs(inside: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """For every pixel, the left and right edges (pixel coordinates) of the run of inside pixels
    along its row that holds it."""
    width = inside.shape[1]
    index = np.broadcast_to(np.arange(width), inside.shape)
    last_out = np.maximum.accumulate(np.where(inside, -1, index), axis=1)
    last_out_reversed = np.maximum.accumulate(np.where(inside[:, ::-1], -1, index), axis=1)[:, ::-1]
    return (last_out + 1).astype(np.float64), (width - 1 - last_out_reversed).astype(np.float64)
