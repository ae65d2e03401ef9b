"""The default export backend: GLB written by assetcore's own glTF writer (CPU, no Blender).

FBX, when the job asks for it, still goes through the shared Blender child: without bpy the
step fails with BACKEND_UNAVAILABLE instead of silently skipping the file.
"""

from __future__ import annotations

from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.export import blender_ops
from services.export.exporter import (
    blender_settings,
    engine_glb,
    finish_export,
    prepare_export,
    run_in_blender,
)

NAME = "gltf"


class GltfExportBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo(
            name=NAME, version="2", capabilities=("glb", "draco", "ktx2", "lods", "fbx-via-blender")
        )

    def load(self) -> None:
        """Nothing to load: Blender starts on the first FBX request."""

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        prepared = prepare_export(request)
        plan = prepared.plan
        progress(0.2, "writing GLB")
        glb = engine_glb(prepared.model, plan, draco=plan.draco, ktx2=plan.ktx2)
        lods = {
            name: engine_glb(lod, plan, draco=plan.draco, ktx2=plan.ktx2)
            for name, lod in prepared.lods.items()
        }
        fbx = None
        if plan.fbx:
            progress(0.4, "writing FBX through Blender")
            # Blender's importer reads no Draco or KTX2 and the FBX embeds PNG textures
            plain = glb if not (plan.draco or plan.ktx2) else engine_glb(prepared.model, plan, draco=False)
            fbx = run_in_blender(
                blender_ops.glb_to_fbx, plain, blender_settings(prepared), progress, (0.4, 0.9)
            )
        progress(0.95, "writing manifest and preview")
        return finish_export(prepared, glb, lods, fbx, backend=NAME)
