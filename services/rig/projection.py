"""A voxel grid seen along one model axis, and walking along medial-axis paths in that view.

The skeleton fitters read landmarks off 2D views (the front view of a humanoid, the side
view of a quadruped) and lift them back to 3D at the middle of the solid along the hidden
axis, so joints sit inside the limb they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.rig.medial import MedialGraph
from services.rig.voxels import VoxelGrid

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Projection:
    """`mask[a, b]` is the grid seen along `hidden`: a and b index model axes `axes[0]`, `axes[1]`."""

    grid: VoxelGrid
    axes: tuple[int, int]
    hidden: int
    mask: Bools
    middle: Floats  # per pixel, the voxel index halfway through the solid along `hidden` (nan: empty)

    @classmethod
    def along(cls, grid: VoxelGrid, hidden: int) -> Projection:
        """The view along model axis `hidden` (2: front view, 0: side view)."""
        axes = (0, 1) if hidden == 2 else (2, 1)
        occupied = np.moveaxis(grid.occupied, (axes[0], axes[1], hidden), (0, 1, 2))
        mask = occupied.any(axis=2)
        depth = occupied.shape[2]
        first = np.argmax(occupied, axis=2).astype(np.float64)
        last = depth - 1 - np.argmax(occupied[:, :, ::-1], axis=2).astype(np.float64)
        middle = np.where(mask, (first + last) / 2.0, np.nan)
        return cls(grid=grid, axes=axes, hidden=hidden, mask=mask, middle=middle)

    def to_model(self, pixel: Floats, depth: float | None = None) -> Floats:
        """Model-space point of a (fractional) pixel; depth in voxels along `hidden`, default the middle."""
        ijk = np.zeros(3)
        ijk[self.axes[0]], ijk[self.axes[1]] = pixel[0], pixel[1]
        ijk[self.hidden] = self.middle_at(pixel) if depth is None else depth
        return self.grid.origin + self.grid.pitch * ijk

    def middle_at(self, pixel: Floats) -> float:
        """Mid-depth at the nearest occupied pixel (the solid's centre line behind that pixel)."""
        a, b = round(float(pixel[0])), round(float(pixel[1]))
        a = min(max(a, 0), self.mask.shape[0] - 1)
        b = min(max(b, 0), self.mask.shape[1] - 1)
        if self.mask[a, b]:
            return float(self.middle[a, b])
        filled = np.argwhere(self.mask)
        nearest = filled[np.argmin(np.sum((filled - [a, b]) ** 2, axis=1))]
        return float(self.middle[nearest[0], nearest[1]])

    def march(self, start: Floats, direction: Floats) -> Floats:
        """The last pixel inside the mask going from `start` along `direction` (the silhouette edge)."""
        step = np.asarray(direction, dtype=np.float64)
        step = step / max(float(np.linalg.norm(step)), 1e-9) * 0.5
        point = np.asarray(start, dtype=np.float64)
        limit = 4 * max(self.mask.shape)
        for _ in range(limit):
            candidate = point + step
            a, b = round(float(candidate[0])), round(float(candidate[1]))
            if not (0 <= a < self.mask.shape[0] and 0 <= b < self.mask.shape[1]) or not self.mask[a, b]:
                break
            point = candidate
        return point


@dataclass(frozen=True)
class MedialPath:
    """An ordered run of medial-axis nodes with arc length, for sampling points along a limb."""

    points: Floats  # (N, 2) pixels
    radius: Floats  # (N,)
    arc: Floats  # (N,) cumulative length from the first point

    @classmethod
    def of(cls, graph: MedialGraph, nodes: Ints) -> MedialPath:
        points = graph.pixels[nodes].astype(np.float64)
        steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
        return cls(points=points, radius=graph.radius[nodes], arc=np.r_[0.0, np.cumsum(steps)])

    @property
    def length(self) -> float:
        return float(self.arc[-1])

    def at(self, fraction: float) -> Floats:
        """The point at `fraction` of the arc length (0 = first node, 1 = last)."""
        return self.at_length(fraction * self.length)

    def at_length(self, length: float) -> Floats:
        length = min(max(length, 0.0), self.length)
        return np.array([np.interp(length, self.arc, self.points[:, axis]) for axis in (0, 1)])

    def radius_between(self, start: float, end: float) -> Floats:
        """Radii of the nodes between two arc fractions."""
        keep = (self.arc >= start * self.length) & (self.arc <= end * self.length)
        return self.radius[keep] if keep.any() else self.radius[[len(self.radius) // 2]]

    def narrowest(self, start: float, end: float) -> float | None:
        """Arc fraction of a waist between two fractions: the far end of the thinnest stretch there
        (a wrist before the hand, the top of the neck below the head), provided the run is clearly
        thicker on both sides of it. None when there is no such waist, e.g. on a capsule-like limb."""
        keep = np.flatnonzero((self.arc >= start * self.length) & (self.arc <= end * self.length))
        if len(keep) < 3:
            return None
        thinnest = float(self.radius[keep].min())
        best = keep[np.flatnonzero(self.radius[keep] <= 1.08 * thinnest + 0.25)[-1]]
        thickest_before = float(self.radius[: best + 1].max())
        thickest_after = float(self.radius[best:].max())
        if self.radius[best] > 0.85 * min(thickest_before, thickest_after):
            return None
        return float(self.arc[best] / max(self.length, 1e-9))

    def fraction_where_below(self, threshold: float, start: float = 0.0) -> float:
        """The first arc fraction from `start` on where the radius drops to `threshold` or below."""
        for arc, radius in zip(self.arc, self.radius, strict=True):
            if arc >= start * self.length and radius <= threshold:
                return float(arc / max(self.length, 1e-9))
        return 1.0

    def fraction_at_height(self, height: float) -> float:
        """The first arc fraction where the path's second coordinate crosses `height`."""
        rows = self.points[:, 1]
        for index in range(1, len(rows)):
            low, high = sorted((rows[index - 1], rows[index]))
            if low <= height <= high:
                span = rows[index] - rows[index - 1]
                t = 0.0 if span == 0 else (height - rows[index - 1]) / span
                arc = self.arc[index - 1] + t * (self.arc[index] - self.arc[index - 1])
                return float(arc / max(self.length, 1e-9))
        return 1.0 if abs(rows[-1] - height) < abs(rows[0] - height) else 0.0
