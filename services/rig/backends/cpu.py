"""The `cpu` backend (default): bone-heat weights solved with scipy's sparse LU, no GPU, no Blender."""

from __future__ import annotations

from assetcore.geometry.model import Skeleton
from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.rig.heat import heat_weights
from services.rig.pipeline import ProgressFn, rig_asset
from services.rig.voxels import VoxelGrid
from services.rig.weights import Floats, WeldedSurface


class CpuRigBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("cpu", "3", ("humanoid", "quadruped", "static", "heat_weights"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return rig_asset(request, progress, _solve)


def _solve(
    surface: WeldedSurface, skeleton: Skeleton, grid: VoxelGrid, progress: ProgressFn, notes: list[str]
) -> Floats:
    progress(0.0, "solving bone heat")
    return heat_weights(surface, skeleton, grid)
