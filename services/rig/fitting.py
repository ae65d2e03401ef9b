"""Skeleton fitting entry point: voxelize the mesh, then fit the skeleton kind asked for."""

from __future__ import annotations

from assetcore.geometry.model import Mesh, Skeleton
from assetcore.geometry.skeleton import SkeletonKind
from assetcore.worker.backend import ErrorCode, StepError
from services.rig.fit_humanoid import fit_humanoid
from services.rig.fit_quadruped import fit_quadruped
from services.rig.voxels import VoxelGrid, voxelize

MIN_FILLED_VOXELS = 64


def fit_skeleton(
    mesh: Mesh, kind: SkeletonKind, resolution: int, notes: list[str]
) -> tuple[Skeleton, VoxelGrid]:
    """The fitted skeleton and the voxel grid it was read from (weights reuse it for visibility)."""
    grid = voxelize(mesh, resolution)
    if int(grid.occupied.sum()) < MIN_FILLED_VOXELS:
        raise StepError(
            ErrorCode.NON_MANIFOLD, "mesh: the surface encloses (almost) no volume; cannot find its inside"
        )
    fit = fit_humanoid if kind == "humanoid" else fit_quadruped
    return fit(grid, notes), grid
