"""The `decimate` backend (CPU default): LOD0 by manifold3d simplification of the solid.

manifold3d was chosen over the measured alternatives because its result is a closed
2-manifold by construction (the quality gate needs watertight meshes), it is deterministic
and thread-safe, and a 150k-triangle solid reaches a 5k target in about 0.3 s including the
face-count search. fast-simplification (quadric) left holes in a reconstructed quadruped,
keeps its state in module globals and is known to stall on sliver-heavy meshes; pymeshlab's
quadric collapse takes 2.5-4 s for the same job and is a heavy dependency.
"""

from __future__ import annotations

from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.retopo.pipeline import LowPoly, decimated, retopologize
from services.retopo.source import SourceSolid


class DecimateBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("decimate", "2", ("triangles", "symmetry", "uv_unwrap", "bake", "lods"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return retopologize(request, remesh, progress)


def remesh(source: SourceSolid, target: int, progress: Progress) -> LowPoly:
    progress(0.15, f"simplifying to {target} triangles")
    return decimated(source, target)
