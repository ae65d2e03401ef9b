"""The `procedural` backend (default): parametric clips scaled to the skeleton, BVH retargeting."""

from __future__ import annotations

from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.anim.animate import animate


class ProceduralAnimBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("procedural", "2", ("humanoid", "quadruped", "bvh_retarget"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return animate(request, progress)
