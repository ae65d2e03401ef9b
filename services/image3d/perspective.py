"""Carving the concept's inflated solid with the multiview step's perspective views (Zero123++).

Their framing is not known exactly: the cameras look at the subject's centre with a fixed field
of view from a fixed distance, but the subject's size in the frame is the model's choice. It is
fitted by what does not depend on the solid's (uncertain) depth: each view's camera distance is
the one at which the solid's projection is as tall as the view's matte (the projection, not
the solid's height, so an elevated camera's view of the top and bottom counts), and the views
share the median of those distances (Zero123++ keeps the subject's scale across views); each
view's image offset then puts the projection's centre on its matte's. A view whose matte is
empty, or whose subject is more than SCALE_TOLERANCE times larger or smaller than the others
show, is skipped with a note. The fit runs twice, the second time on the first carving's solid,
whose corrected depth tilts less wrong into the elevated views' height.

Carving: a voxel of the solid goes when its centre projects outside a generously dilated matte
in at least MIN_VOTES views (model views disagree by a few pixels and a part now and then; one
bad view must not cut the subject). The field is the second-smallest of the views' signed
distances to their matte edges (in voxels), against the solid's own field scaled to about a
voxel distance, so marching cubes places the surface between voxels where the views say.
The concept image is the most reliable view: a column of its silhouette that the views would
empty keeps a slab about 2 * KEEP_VOXELS deep where the views reject it least.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from assetcore.geometry.camera import Camera
from assetcore.multiview import Multiview
from services.image3d.field_mesh import extract_surface
from services.image3d.hull import smoothed
from services.image3d.volume import InflationField, ViewMesh

FloatArray = npt.NDArray[np.float64]

MATTE_THRESHOLD = 128
MIN_MATTE_PX = 16  # fewer matte pixels than this is an empty view
DILATION_SHARE = 0.02  # mattes are dilated by this share of their height ...
MIN_DILATION_PX = 1.5  # ... and at least this
SCALE_TOLERANCE = 1.3
FIT_ITERATIONS = 6
FIT_PASSES = 2
MIN_VOTES = 2
KEEP_VOXELS = 1.0
VOTE_STRIDE = 2  # the views vote on every second voxel along each axis ...
VOTE_BAND = 2.0 * VOTE_STRIDE  # ... interpolated between within this many voxels of their level
CROP_MARGIN = 2  # voxels kept around the carved solid for marching cubes


@dataclass(frozen=True)
class ViewMatte:
    """One view's matte: signed distance to its dilated edge (pixels, > 0 inside) and its box."""

    index: int
    camera: Camera
    distance: FloatArray  # (tile, tile)
    box: tuple[float, float, float, float]  # top, bottom, left, right: pixel edges

    @classmethod
    def of(cls, index: int, alpha: npt.NDArray[np.uint8], camera: Camera) -> ViewMatte | None:
        """None when the view shows no subject."""
        inside = alpha >= MATTE_THRESHOLD
        rows, cols = np.nonzero(inside)
        if rows.size < MIN_MATTE_PX:
            return None
        top, bottom = float(rows.min()), float(rows.max() + 1)
        signed = np.where(
            inside,
            ndimage.distance_transform_edt(inside) - 0.5,
            0.5 - ndimage.distance_transform_edt(~inside),
        )
        dilation = max(MIN_DILATION_PX, DILATION_SHARE * (bottom - top))
        return cls(index, camera, signed + dilation, (top, bottom, float(cols.min()), float(cols.max() + 1)))

    @property
    def tile(self) -> int:
        return int(self.distance.shape[0])


@dataclass(frozen=True)
class Framing:
    """A view's fitted framing: camera distance (voxels) and the image offset (pixels)."""

    matte: ViewMatte
    distance: float
    offset: tuple[float, float]  # (rows, columns)

    def pixels(self, positions: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        row, column, depth = self.matte.camera.perspective_pixels(positions, self.distance, self.matte.tile)
        return row + self.offset[0], column + self.offset[1], depth


def carve_perspective(views: Multiview, solid: InflationField) -> tuple[ViewMesh, tuple[str, ...]]:
    """The solid carved by the views (view space: voxels, the concept camera's frame), smoothed,
    and notes on the views that were skipped."""
    notes: list[str] = []
    mattes = []
    for i, view in enumerate(views.views):
        matte = ViewMatte.of(i, view.rgba[..., 3], views.camera(i))
        if matte is None:
            notes.append(f"{_named(views, i)} was not used for carving: its matte is empty")
        else:
            mattes.append(matte)
    # The fit and the votes run on every VOTE_STRIDE-th voxel (see `_fine_votes`).
    coarse_index = [np.arange(0, side + VOTE_STRIDE - 1, VOTE_STRIDE) for side in solid.values.shape]
    clipped = [np.minimum(a, side - 1) for a, side in zip(coarse_index, solid.values.shape, strict=True)]
    own_coarse = _own(solid)[np.ix_(*clipped)]  # past the grid's end: its border, outside the solid
    coarse_points = solid.centres(tuple(a.ravel() for a in np.meshgrid(*coarse_index, indexing="ij")))
    inside = own_coarse > 0
    field, fit_notes = solid.values, list[str]()
    for fit in range(FIT_PASSES):
        framings, fit_notes = fit_framings(views, mattes, _outline(solid, coarse_index, inside))
        if len(framings) < MIN_VOTES:
            fit_notes.append(f"fewer than {MIN_VOTES} views fit the concept: the solid is not carved")
            break
        votes = _second_smallest(framings, coarse_points).reshape(own_coarse.shape)
        if fit + 1 == FIT_PASSES:
            field = carved_field(solid, _fine_votes(solid, votes))
        inside = np.minimum(own_coarse, votes) > 0
    positions, faces = _mesh(solid, field)
    return ViewMesh(positions=smoothed(positions, faces), faces=faces), tuple(notes + fit_notes)


def fit_framings(
    views: Multiview, mattes: list[ViewMatte], points: FloatArray
) -> tuple[list[Framing], list[str]]:
    """The views' framings for a solid whose surface voxels are `points` (see the module
    docstring), and notes on the views left out."""
    distances = [_fitted_distance(matte, points) for matte in mattes]
    if not distances:
        return [], []
    shared = float(np.median(distances))
    framings, notes = [], []
    for matte, distance in zip(mattes, distances, strict=True):
        size = shared / distance  # the view's subject relative to the others'
        if max(size, 1.0 / size) > SCALE_TOLERANCE:
            notes.append(
                f"{_named(views, matte.index)} was not used for carving: its subject is {size:.2f}x "
                "the size the other views show"
            )
            continue
        row, column, _ = matte.camera.perspective_pixels(points, shared, matte.tile)
        top, bottom, left, right = matte.box
        offset = (
            (top + bottom) / 2.0 - (row.min() + row.max()) / 2.0,
            (left + right) / 2.0 - (column.min() + column.max()) / 2.0,
        )
        framings.append(Framing(matte, shared, offset))
    return framings, notes


def _fitted_distance(matte: ViewMatte, points: FloatArray) -> float:
    """The camera distance at which the points' projection is as tall as the matte. The inverse
    of the projected height is linear in the distance while the same points stay the extremes:
    secant steps on it."""
    _, up = matte.camera.axes()
    y, depth = points @ up, points @ matte.camera.direction
    focal = matte.camera.focal_px(matte.tile)
    target = matte.box[1] - matte.box[0]
    nearest = float(depth.max())

    def excess(distance: float) -> float:  # inverse heights: projected minus wanted
        return 1.0 / (focal * float(np.ptp(y / (distance - depth)))) - 1.0 / target

    low = nearest + focal * float(np.ptp(y)) / target
    high = low + float(np.ptp(depth)) + 1.0
    f_low, f_high = excess(low), excess(high)
    for _ in range(FIT_ITERATIONS):
        if f_high == f_low:
            break
        low, high, f_low = high, high - f_high * (high - low) / (f_high - f_low), f_high
        high = max(high, nearest + 1.0)  # the camera stays in front of the solid
        f_high = excess(high)
    return high


def carved_field(solid: InflationField, votes: FloatArray) -> FloatArray:
    """The solid's field (about voxels to its surface) cut by the views' `votes` (voxels, at
    every voxel), the concept's columns kept (see the module docstring)."""
    own = _own(solid)
    kept = np.where(solid.values > 0, np.minimum(own, votes), -np.inf).max(axis=2, keepdims=True)
    shift = np.where(np.isfinite(kept), np.maximum(KEEP_VOXELS - kept, 0.0), 0.0)  # finite: the concept's
    return np.asarray(np.minimum(own, votes + shift))


def _own(solid: InflationField) -> FloatArray:
    """The solid's field in about voxels to its surface: F = g - n**2 changes by about 2 * sqrt(g)
    a voxel along n near the surface."""
    peak = solid.values.max(axis=2, keepdims=True)
    return np.asarray(solid.values / (2.0 * np.sqrt(np.maximum(peak, 1.0))))


def _second_smallest(framings: list[Framing], points: FloatArray) -> FloatArray:
    """Per point, the MIN_VOTES-th smallest signed distance (voxels) to a view's matte edge:
    negative where at least MIN_VOTES views see it outside their matte."""
    distances = np.empty((len(framings), len(points)))
    for f, framing in enumerate(framings):
        row, column, depth = framing.pixels(points)
        tile = framing.matte.tile
        sampled = ndimage.map_coordinates(
            framing.matte.distance, [row - 0.5, column - 0.5], order=1, mode="constant", cval=-float(tile)
        )
        distances[f] = sampled * (framing.distance - depth) / framing.matte.camera.focal_px(tile)
    return np.asarray(np.partition(distances, MIN_VOTES - 1, axis=0)[MIN_VOTES - 1])


def _fine_votes(solid: InflationField, coarse: FloatArray) -> FloatArray:
    """The coarse votes at every voxel of the solid (+inf outside it): the nearest coarse value,
    interpolated trilinearly near the votes' level (a distance to a matte edge is close to linear
    over a few voxels; away from the level only its sign matters)."""
    votes = np.full(solid.values.shape, np.inf)
    index = np.nonzero(solid.values > 0)
    nearest = coarse[tuple(np.rint(i / VOTE_STRIDE).astype(np.intp) for i in index)]
    near = np.abs(nearest) < VOTE_BAND
    nearest[near] = ndimage.map_coordinates(coarse, [i[near] / VOTE_STRIDE for i in index], order=1)
    votes[index] = nearest
    return votes


def _outline(
    solid: InflationField, coarse_index: list[npt.NDArray[np.intp]], inside: npt.NDArray[np.bool_]
) -> FloatArray:
    """View-space centres of the surface voxels of a solid given on the coarse grid (its
    projection's extremes are among them)."""
    surface = np.nonzero(inside & ~ndimage.binary_erosion(inside))
    return solid.centres(tuple(axis[i] for axis, i in zip(coarse_index, surface, strict=True)))


def _mesh(solid: InflationField, field: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """The field's closed surface in view space, the grid cropped to the carved solid (carving
    leaves much of the inflated solid's grid empty). field_mesh takes axes x, y, z in order."""
    inside = field > 0
    low, high = [], []
    for axis in range(3):
        occupied = np.flatnonzero(inside.any(axis=tuple(a for a in range(3) if a != axis)))
        low.append(max(int(occupied[0]) - CROP_MARGIN, 0))
        high.append(min(int(occupied[-1]) + CROP_MARGIN, field.shape[axis] - 1))
    cropped = field[low[0] : high[0] + 1, low[1] : high[1] + 1, low[2] : high[2] + 1]
    xyz = np.transpose(cropped, (1, 0, 2))[:, ::-1, :]  # rows run down the image: y reversed
    lower = solid.centres((np.array([high[0]]), np.array([low[1]]), np.array([low[2]])))[0]
    upper = solid.centres((np.array([low[0]]), np.array([high[1]]), np.array([high[2]])))[0]
    mesh = extract_surface(
        xyz,
        0.0,
        lower=(float(lower[0]), float(lower[1]), float(lower[2])),
        upper=(float(upper[0]), float(upper[1]), float(upper[2])),
        backend="inflate",
    )
    return mesh.positions, mesh.faces


def _named(views: Multiview, index: int) -> str:
    view = views.views[index]
    return f"the view at azimuth {view.azimuth_deg:g}, elevation {view.elevation_deg:g}"
