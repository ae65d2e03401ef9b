"""The `blender` backend: LOD0 by voxel remesh (fix poles) + QuadriFlow in headless Blender.

The work runs in the shared Blender child process (assetcore.blender). QuadriFlow's quads
count as one face each and are split into two triangles along their shorter diagonal for
the GLB (other polygons, which appear along the symmetry seam, as fans); LOD1/LOD2, UVs
and bakes take the same path as the default backend.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from assetcore.blender import shared_blender
from assetcore.geometry import meshops
from assetcore.worker.backend import BackendInfo, ErrorCode, Progress, StepError, StepOutput, StepRequest
from services.retopo.backends.blender_remesh import QuadriflowSettings, quadriflow_remesh
from services.retopo.pipeline import LowPoly, retopologize
from services.retopo.polygons import triangulate
from services.retopo.repair import from_manifold
from services.retopo.source import SourceSolid

# The voxel remesh keeps this many faces per target face: enough detail for QuadriFlow to
# follow, few enough to keep it fast.
VOXEL_FACES_PER_TARGET = 2.0
QUADRIFLOW_SEED_RANGE = 2**31 - 1


class BlenderBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("blender", "2", ("quads", "symmetry", "uv_unwrap", "bake", "lods"))

    def load(self) -> None:
        shared_blender().start()

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return retopologize(request, partial(remesh, seed=request.seed % QUADRIFLOW_SEED_RANGE), progress)


def remesh(source: SourceSolid, target: int, progress: Progress, *, seed: int) -> LowPoly:
    positions, triangles = from_manifold(source.solid)
    voxel_size = float(np.sqrt(source.solid.surface_area() / (VOXEL_FACES_PER_TARGET * target)))
    settings = QuadriflowSettings(target, voxel_size, source.symmetric, seed)
    remeshed, sizes, corners = shared_blender().call(
        quadriflow_remesh,
        positions,
        triangles,
        settings,
        progress=lambda fraction, message: progress(0.1 + 0.2 * fraction, message),
    )
    result_triangles, quads = triangulate(remeshed, sizes, corners)
    welded_positions, welded = meshops.weld(remeshed, result_triangles)
    if not meshops.is_closed_manifold(welded):
        raise StepError(ErrorCode.INTERNAL, "blender: the QuadriFlow result is not watertight")
    return LowPoly(positions=welded_positions, triangles=welded, polygons=len(sizes), quads=quads)
