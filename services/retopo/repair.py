"""Manifold repair: from whatever mesh arrives to a closed, outward-wound solid.

A mesh whose welded faces already form a closed 2-manifold is used as it is. Anything else
(holes, edges shared by three or more faces, flipped patches, duplicated sheets) is rebuilt
through a voxel grid: the surface is rasterised, gaps up to two voxels wide are sealed
(morphological closing), the enclosed space is filled, and marching cubes extracts a new
closed surface.

"Beyond repair" (NON_MANIFOLD): after sealing, the surface still encloses no volume, i.e. it
is an open sheet or has holes wider than two voxels (1/64 of its largest extent), or the
result is not a valid manifold solid.
"""

from __future__ import annotations

import manifold3d
import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage import measure

from assetcore.geometry import meshops
from assetcore.worker.backend import ErrorCode, StepError

REPAIR_RESOLUTION = 128  # voxels along the largest extent
SEAL_VOXELS = 1  # closing radius: seals gaps up to twice this wide
MIN_VOLUME_SHARE = 1e-6  # of the bounding box: less is a sheet, not a solid


def closed_solid(
    positions: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]
) -> tuple[manifold3d.Manifold, bool]:
    """The welded mesh as a manifold solid: (solid, whether it had to be rebuilt)."""
    if meshops.is_closed_manifold(faces):
        solid = to_manifold(positions, meshops.orient_outward(positions, faces))
        if solid.status() == manifold3d.Error.NoError and _has_volume(solid, positions):
            return solid, False
    return voxel_rebuild(positions, faces), True


def to_manifold(positions: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> manifold3d.Manifold:
    return manifold3d.Manifold(
        manifold3d.Mesh(vert_properties=positions.astype(np.float32), tri_verts=faces.astype(np.uint32))
    )


def from_manifold(solid: manifold3d.Manifold) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, np.float64)[:, :3], np.asarray(mesh.tri_verts, np.int64)


def voxel_rebuild(positions: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]) -> manifold3d.Manifold:
    """Rasterise, seal, fill and re-extract the surface; NON_MANIFOLD when nothing is enclosed."""
    low, high = positions.min(axis=0), positions.max(axis=0)
    voxel = float((high - low).max()) / REPAIR_RESOLUTION
    if voxel <= 0:
        raise StepError(ErrorCode.NON_MANIFOLD, "mesh: all vertices coincide; there is no surface to repair")
    margin = SEAL_VOXELS + 2
    origin = low - margin * voxel
    shape = tuple(int(n) for n in np.ceil((high - low) / voxel).astype(np.int64) + 2 * margin + 1)
    points, _ = meshops.surface_lattice(positions, faces, voxel / 2.0, max_divisions=4 * REPAIR_RESOLUTION)
    cells = np.clip(np.round((points - origin) / voxel).astype(np.int64), 0, np.array(shape) - 1)
    shell = np.zeros(shape, bool)
    shell[cells[:, 0], cells[:, 1], cells[:, 2]] = True
    sealed = ndimage.binary_dilation(shell, iterations=SEAL_VOXELS)
    filled = ndimage.binary_fill_holes(sealed)
    if not (filled & ~sealed).any():
        raise StepError(
            ErrorCode.NON_MANIFOLD,
            "mesh: not a closed surface and beyond repair: it encloses no volume even after sealing "
            f"gaps up to {2 * SEAL_VOXELS} voxels (1/{REPAIR_RESOLUTION // (2 * SEAL_VOXELS)} of its size)",
        )
    solid = ndimage.binary_erosion(filled, iterations=SEAL_VOXELS, border_value=0)
    field = ndimage.gaussian_filter(solid.astype(np.float32), 0.7)
    vertices, triangles, _, _ = measure.marching_cubes(field, 0.5)
    rebuilt, kept = meshops.largest_component(vertices * voxel + origin, triangles)
    result = to_manifold(rebuilt, meshops.orient_outward(rebuilt, kept))
    if result.status() != manifold3d.Error.NoError or not _has_volume(result, rebuilt):
        raise StepError(
            ErrorCode.NON_MANIFOLD, f"mesh: the voxel repair did not give a valid solid ({result.status()})"
        )
    return result


def _has_volume(solid: manifold3d.Manifold, positions: npt.NDArray[np.float64]) -> bool:
    box = float(np.prod(np.maximum(positions.max(axis=0) - positions.min(axis=0), 1e-12)))
    return bool(solid.volume() > MIN_VOLUME_SHARE * box)
