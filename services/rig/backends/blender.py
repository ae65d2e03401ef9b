"""The `blender` backend: Blender's automatic (bone heat) weights in the shared Blender child,
with envelope weights where bone heat silently leaves vertices unweighted."""

from __future__ import annotations

from importlib import metadata

import numpy as np

from assetcore.blender import shared_blender
from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import is_end_joint
from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.rig.blender_ops import automatic_weights
from services.rig.pipeline import ProgressFn, rig_asset
from services.rig.voxels import VoxelGrid
from services.rig.weights import Floats, WeldedSurface, nearest_bone_weights


class BlenderRigBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo(
            "blender", f"1+bpy{_bpy_version()}", ("humanoid", "quadruped", "static", "heat_weights")
        )

    def load(self) -> None:
        shared_blender().start()

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return rig_asset(request, progress, _solve)


def _bpy_version() -> str:
    """Blender's version is part of the output's identity (its heat solver may change)."""
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return "none"


def _solve(
    surface: WeldedSurface, skeleton: Skeleton, grid: VoxelGrid, progress: ProgressFn, notes: list[str]
) -> Floats:
    bones = {
        "names": list(skeleton.names),
        "parents": [int(parent) for parent in skeleton.parents],
        "heads": skeleton.heads.astype(np.float64),
        "tails": skeleton.tails.astype(np.float64),
        "deforming": [not is_end_joint(name) for name in skeleton.names],
    }
    weights, heat_missing = shared_blender().call(
        automatic_weights,
        {"positions": surface.positions, "faces": surface.faces},
        bones,
        progress=progress,
    )
    dense = np.asarray(weights, dtype=np.float64)
    if heat_missing:
        notes.append(
            f"rig: Blender's bone heat left {heat_missing} of {len(dense)} vertices unweighted; "
            "they got envelope weights"
        )
    unweighted = dense.sum(axis=1) <= 0
    if unweighted.any():
        notes.append(
            f"rig: {int(unweighted.sum())} vertices outside every envelope follow their nearest bone"
        )
        dense[unweighted] = nearest_bone_weights(surface.positions[unweighted], skeleton)
    return dense
