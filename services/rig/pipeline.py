"""The rig step's work shared by its backends; a backend supplies only the skin-weight solver.

mesh GLB -> checks -> skeleton fitted to the shape -> weights on the welded surface -> finger
chains where the hands can hold them (humanoids, services.rig.fingers) -> top-4 skin on LOD0 ->
weights carried to the LODs -> skinned GLBs and a preview with the bones.
A static rig passes the meshes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Model, Skeleton
from assetcore.geometry.preview import render_mesh_preview, render_model_preview
from assetcore.worker.backend import ErrorCode, OutputFile, Progress, StepError, StepOutput, StepRequest
from services.rig.fingers import add_fingers
from services.rig.fitting import fit_skeleton
from services.rig.mesh_checks import check_riggable
from services.rig.options import RigOptions
from services.rig.rig_type import resolve_rig_kind
from services.rig.transfer import transfer_skin
from services.rig.voxels import VoxelGrid
from services.rig.weights import Floats, WeldedSurface, top_influences, weld_surface

GLB_MEDIA_TYPE = "model/gltf-binary"
LOD_NAMES = ("lod1", "lod2")

ProgressFn = Callable[[float, str], None]
# (welded surface, skeleton, voxel grid, progress, notes) -> dense (welded vertices, joints) weights
SkinSolver = Callable[[WeldedSurface, Skeleton, VoxelGrid, ProgressFn, list[str]], Floats]


def rig_asset(request: StepRequest, progress: Progress, solve_weights: SkinSolver) -> StepOutput:
    notes: list[str] = []
    options = request.options_as(RigOptions)
    source = read_glb(_input(request, "mesh"))
    kind = resolve_rig_kind(request.job, notes)
    if kind is None:
        return _static(request, source, notes)
    check_riggable(source.mesh, notes)
    progress(0.1, f"fitting a {kind} skeleton")
    skeleton, grid = fit_skeleton(source.mesh, kind, options.resolution, notes)
    progress(0.3, f"skin weights for {skeleton.joint_count} joints")
    surface = weld_surface(source.mesh)
    dense = solve_weights(surface, skeleton, grid, _span(progress, 0.3, 0.8), notes)
    if kind == "humanoid":
        skeleton, dense = add_fingers(surface.positions, dense, skeleton, options.fingers, notes)
    skin = top_influences(dense[surface.index])
    rigged = Model(mesh=source.mesh, skeleton=skeleton, skin=skin)
    files = [OutputFile("rigged", GLB_MEDIA_TYPE, write_glb(rigged))]
    for name in LOD_NAMES:
        if name in request.inputs:
            progress(0.85, f"carrying the weights to {name}")
            lod = read_glb(request.inputs[name].data).mesh
            if lod.face_count == 0:
                raise StepError(ErrorCode.EMPTY_MESH, f"{name}: the mesh has no faces")
            lod_skin = transfer_skin(source.mesh, skin, lod, skeleton.joint_count)
            files.append(
                OutputFile(name, GLB_MEDIA_TYPE, write_glb(Model(mesh=lod, skeleton=skeleton, skin=lod_skin)))
            )
    influences = (skin.weights > 0).sum(axis=1)
    return StepOutput(
        files=files,
        preview_png=render_model_preview(rigged),
        notes=notes,
        metrics={
            "joints": float(skeleton.joint_count),
            "vertices": float(source.mesh.vertex_count),
            "faces": float(source.mesh.face_count),
            "mean_influences": float(np.mean(influences)),
            "height_m": float(np.ptp(source.mesh.positions[:, 1])),
        },
    )


def _input(request: StepRequest, name: str) -> bytes:
    if name not in request.inputs:
        raise StepError(ErrorCode.INVALID_INPUT, f"rig: the input {name!r} is missing")
    return request.inputs[name].data


def _static(request: StepRequest, source: Model, notes: list[str]) -> StepOutput:
    """No skeleton: the meshes leave as they came."""
    notes.append("rig: static rig; the mesh passes through without a skeleton")
    files = [OutputFile("rigged", GLB_MEDIA_TYPE, request.inputs["mesh"].data)]
    files += [
        OutputFile(name, GLB_MEDIA_TYPE, request.inputs[name].data)
        for name in LOD_NAMES
        if name in request.inputs
    ]
    return StepOutput(
        files=files,
        preview_png=render_mesh_preview(source.mesh),
        notes=notes,
        metrics={
            "joints": 0.0,
            "vertices": float(source.mesh.vertex_count),
            "faces": float(source.mesh.face_count),
        },
    )


def _span(progress: Progress, start: float, end: float) -> ProgressFn:
    """A progress callback for a sub-task that maps its 0..1 onto start..end of the step."""

    def report(fraction: float, message: str = "") -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)

    return report
