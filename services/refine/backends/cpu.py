"""The default refine backend: matte cleanup, colour bleed fix, framing and the optional x2 upscale."""

from __future__ import annotations

from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.refine.stages import ResampleUpscaler, refine_image


class CpuBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("cpu", "1", ("matte-cleanup", "upscale-x2"))

    def load(self) -> None:
        """Nothing to load: numpy, scipy and Pillow only."""

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return refine_image(request, progress, upscaler=ResampleUpscaler())
