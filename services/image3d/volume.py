"""From the silhouette's inflation profile to one closed triangle mesh, in grid units.

The field is F(u, v, n) = g(u, v) - n**2 (g = squared half-depth, see `silhouette`): positive
inside a solid mirrored front and back about n = 0. Side views of quadrupeds split off the
legs (see `legs`): the body inflates as usual and the legs become tubes centred at
n = +offset (near side) and n = -offset (far side), so the animal stands on four legs.
Marching cubes extracts the surface; its largest component is kept (which also drops any
cavity shell).

Output coordinates ("view space", voxels): u to the image's right and v up, both from the
grid centre, and n out of the image plane towards the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from skimage import measure

from assetcore.geometry import meshops
from services.image3d.legs import split_legs
from services.image3d.silhouette import FloatGrid, SilhouetteGrid, squared_half_depth


@dataclass(frozen=True)
class ViewMesh:
    positions: npt.NDArray[np.float64]  # (V, 3) view space: u, v, n in voxels
    faces: npt.NDArray[np.int64]


@dataclass(frozen=True)
class InflationField:
    """F on the voxel grid, indexed (image row, image column, n): row i at v = (rows - 1) / 2 - i,
    column j at u = j - (cols - 1) / 2, layer k at n = k - half."""

    values: npt.NDArray[np.float64]  # (rows, cols, 2 * half + 1), > 0 inside

    @property
    def half(self) -> int:
        return (self.values.shape[2] - 1) // 2

    def centres(self, index: tuple[npt.NDArray[np.intp], ...]) -> npt.NDArray[np.float64]:
        """View-space (u, v, n) of the voxels at `index` (as np.nonzero gives them)."""
        rows, cols, _ = self.values.shape
        i, j, k = index
        return np.column_stack([j - (cols - 1) / 2.0, (rows - 1) / 2.0 - i, k - float(self.half)])


def inflation_field(
    grid: SilhouetteGrid, depth_scale: float, *, with_legs: bool = False, flat_depth: float | None = None
) -> InflationField:
    """The inflated silhouette's field: side-view legs split when `with_legs`, cut flat at
    `flat_depth` x the silhouette's width when that is given."""
    legs = split_legs(grid, depth_scale) if with_legs else None
    body = squared_half_depth(grid.signed_distance, depth_scale) if legs is None else legs.body
    if flat_depth is not None:
        width = float(grid.inside.any(axis=0).sum())
        body = np.minimum(body, (flat_depth * width) ** 2)
    reach = _half_depth(body)
    if legs is not None:
        reach = max(reach, legs.offset + max(_half_depth(legs.near), _half_depth(legs.far)))
    half = int(np.ceil(reach)) + 2
    n = np.arange(-half, half + 1, dtype=np.float64)
    field = body[:, :, None] - n**2
    if legs is not None:
        field = np.maximum(field, legs.near[:, :, None] - (n - legs.offset) ** 2)
        field = np.maximum(field, legs.far[:, :, None] - (n + legs.offset) ** 2)
    return InflationField(field)


def surface(field: InflationField) -> ViewMesh:
    """Marching cubes on the field, its largest component kept."""
    vertices, faces, _, _ = measure.marching_cubes(field.values.astype(np.float32), 0.0)
    rows, cols, _ = field.values.shape
    view = np.column_stack(
        [
            vertices[:, 1] - (cols - 1) / 2.0,
            (rows - 1) / 2.0 - vertices[:, 0],
            vertices[:, 2] - field.half,
        ]
    )
    positions, kept = meshops.largest_component(view, faces)
    return ViewMesh(positions=positions, faces=meshops.orient_outward(positions, kept))


def _half_depth(squared: FloatGrid) -> float:
    return float(np.sqrt(max(float(squared.max()), 0.0)))
