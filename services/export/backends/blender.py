"""The Blender export backend: GLB and FBX both written by Blender's own exporters.

The model is handed to Blender as our GLB (no Draco), imported with Blender's glTF importer
and written again with its glTF exporter (Draco through Blender when asked) and its FBX
exporter with the preset's axes, units and leaf-bone options.
"""

from __future__ import annotations

from importlib import metadata

from assetcore.blender import shared_blender
from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.export import blender_ops
from services.export.exporter import (
    blender_settings,
    engine_glb,
    finish_export,
    prepare_export,
    run_in_blender,
)

NAME = "blender"


class BlenderExportBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo(
            name=NAME, version=f"2+bpy{_bpy_version()}", capabilities=("glb", "draco", "lods", "fbx")
        )

    def load(self) -> None:
        shared_blender().start()

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        prepared = prepare_export(request)
        plan = prepared.plan
        settings = blender_settings(prepared)
        progress(0.1, "writing GLB through Blender")
        plain = engine_glb(prepared.model, plan, draco=False)
        glb = run_in_blender(blender_ops.glb_via_blender, plain, settings, progress, (0.1, 0.4))
        lods = {
            name: run_in_blender(
                blender_ops.glb_via_blender,
                engine_glb(lod, plan, draco=False),
                settings,
                progress,
                (0.4, 0.6),
            )
            for name, lod in prepared.lods.items()
        }
        fbx = None
        if plan.fbx:
            fbx = run_in_blender(blender_ops.glb_to_fbx, plain, settings, progress, (0.6, 0.95))
        return finish_export(prepared, glb, lods, fbx, backend=NAME)


def _bpy_version() -> str:
    """The installed bpy's version (Blender's exporters change output between releases)."""
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return "-none"
