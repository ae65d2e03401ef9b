"""What every export backend shares: picking and shaping the models, and packaging the result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import pack_glb, read_glb
from assetcore.geometry.gltf_writer import build_document
from assetcore.geometry.model import Model
from assetcore.geometry.preview import render_model_preview
from assetcore.geometry.skeleton import skeleton_kind
from assetcore.worker.backend import ErrorCode, OutputFile, Progress, StepError, StepOutput, StepRequest
from services.export.bone_maps import PROFILES, BoneMapError, checked_bone_map
from services.export.conform import conform_model
from services.export.ktx2 import add_ktx2_textures
from services.export.manifest import build_manifest
from services.export.options import ExportPlan, export_plan

SOURCES = ("animated", "rigged", "mesh")  # most processed first
LODS = {"lod1": "lod1_glb", "lod2": "lod2_glb"}
GLB_MEDIA_TYPE = "model/gltf-binary"
FBX_MEDIA_TYPE = "application/octet-stream"
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class PreparedExport:
    """The plan and the models to write, already conformed to the engine preset."""

    plan: ExportPlan
    source: str  # the input artifact the main model came from
    model: Model
    lods: dict[str, Model]  # output artifact name -> LOD model (skeleton and skin, no clips)
    bone_maps: dict[str, dict[str, str]]  # humanoids: bone_maps.PROFILES key -> profile bone -> joint

    @property
    def asset_name(self) -> str:
        return self.model.mesh.name


def prepare_export(request: StepRequest) -> PreparedExport:
    plan = export_plan(request)
    source = source_artifact(request)
    original = _read_model(request, source)
    model = conform_model(original, plan)
    lods = {
        artifact: conform_model(_read_model(request, name), plan, keep_clips=False)
        for name, artifact in LODS.items()
        if name in request.inputs
    }
    humanoid = original.skeleton is not None and skeleton_kind(original.skeleton) == "humanoid"
    bone_maps = _bone_maps(model, plan, source) if humanoid else {}
    return PreparedExport(plan=plan, source=source, model=model, lods=lods, bone_maps=bone_maps)


def _bone_maps(model: Model, plan: ExportPlan, source: str) -> dict[str, dict[str, str]]:
    """The exported humanoid skeleton's map to each of the preset's engine profiles, checked."""
    if model.skeleton is None:
        return {}
    try:
        return {
            key: checked_bone_map(model.skeleton, PROFILES[key], prefix=plan.preset.bone_prefix)
            for key in plan.preset.bone_profiles
        }
    except BoneMapError as exc:
        raise StepError(ErrorCode.INVALID_INPUT, f"input {source!r}: {exc}") from None


def source_artifact(request: StepRequest) -> str:
    """The most processed model among the inputs."""
    source = next((name for name in SOURCES if name in request.inputs), None)
    if source is None:
        raise StepError(ErrorCode.INVALID_INPUT, f"export needs one of the inputs {list(SOURCES)}; got none")
    return source


def _read_model(request: StepRequest, name: str) -> Model:
    model = read_glb(request.inputs[name].data)
    if model.mesh.face_count == 0:
        raise StepError(ErrorCode.EMPTY_MESH, f"input {name!r}: the mesh has no faces")
    if not np.isfinite(model.mesh.positions).all():
        raise StepError(ErrorCode.INVALID_INPUT, f"input {name!r}: vertex positions are not finite")
    for clip in model.clips:
        if not (np.isfinite(clip.rotations).all() and np.isfinite(clip.root_translations).all()):
            raise StepError(
                ErrorCode.INVALID_INPUT, f"input {name!r}: clip {clip.name!r} has non-finite values"
            )
    return model


def engine_glb(model: Model, plan: ExportPlan, *, draco: bool, ktx2: bool = False) -> bytes:
    """write_glb's file with the preset's material and texture names (and KTX2 texture copies)."""
    document, binary = build_document(model, draco=draco)
    for material in document.get("materials", []):
        material["name"] = plan.preset.material_name(plan.base_name)
        for role, info in _texture_slots(material).items():
            image = document["images"][document["textures"][info["index"]]["source"]]
            image["name"] = plan.preset.texture_name(plan.base_name, role)
    if ktx2:
        binary = add_ktx2_textures(document, binary)
    return pack_glb(document, binary)


def _texture_slots(material: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The material's textureInfos by map (EnginePreset.texture_name roles)."""
    pbr = material.get("pbrMetallicRoughness", {})
    slots = {
        "base_color": pbr.get("baseColorTexture"),
        "normal": material.get("normalTexture"),
        "metallic_roughness": pbr.get("metallicRoughnessTexture"),
    }
    return {role: info for role, info in slots.items() if info is not None}


def blender_settings(prepared: PreparedExport) -> dict[str, Any]:
    """What the Blender child needs to know (plain data: it crosses a process boundary)."""
    preset = prepared.plan.preset
    fbx = preset.fbx
    clips = prepared.model.clips
    return {
        "fps": clips[0].fps if clips else DEFAULT_FPS,
        "armature_name": preset.armature_name,
        "metallic_texture_name": preset.texture_name(prepared.plan.base_name, "metallic"),
        "roughness_texture_name": preset.texture_name(prepared.plan.base_name, "roughness"),
        "draco": prepared.plan.draco,
        "axis_forward": fbx.axis_forward,
        "axis_up": fbx.axis_up,
        "apply_scale_options": fbx.apply_scale_options,
        "add_leaf_bones": fbx.add_leaf_bones,
    }


def run_in_blender(
    func: Callable[..., bytes],
    glb: bytes,
    settings: dict[str, Any],
    progress: Progress,
    span: tuple[float, float],
) -> bytes:
    """Call a blender_ops function in the shared Blender child, its progress mapped into `span`."""
    if not bpy_available():
        raise StepError(
            ErrorCode.BACKEND_UNAVAILABLE,
            "FBX export (and the blender backend) needs Blender, but bpy is not installed: "
            "install assetcore[blender] or ask for export.formats ['glb'] only",
        )
    low, high = span

    def report(fraction: float, message: str) -> None:
        progress(low + (high - low) * fraction, message)

    result: bytes = shared_blender().call(func, glb, settings, progress=report)
    return result


def finish_export(
    prepared: PreparedExport, glb: bytes, lod_glbs: dict[str, bytes], fbx: bytes | None, backend: str
) -> StepOutput:
    """The step's files (GLB, LODs, FBX, manifest), preview, metrics and notes."""
    files = [OutputFile("glb", GLB_MEDIA_TYPE, glb)]
    files += [OutputFile(name, GLB_MEDIA_TYPE, data) for name, data in sorted(lod_glbs.items())]
    if fbx is not None:
        files.append(OutputFile("fbx", FBX_MEDIA_TYPE, fbx))
    manifest = build_manifest(prepared, files, backend=backend)
    files.append(OutputFile("manifest", "application/json", manifest))
    model = prepared.model
    notes = [f"exported the {prepared.source!r} model for {prepared.plan.engine}"]
    if prepared.lods and model.clips:
        notes.append("LOD files carry the skeleton and skin but not the clips (they play the LOD0 clips)")
    return StepOutput(
        files=files,
        preview_png=render_model_preview(model),
        notes=notes,
        metrics={
            "faces": float(model.mesh.face_count),
            "vertices": float(model.mesh.vertex_count),
            "bones": float(model.skeleton.joint_count if model.skeleton else 0),
            "clips": float(len(model.clips)),
            "glb_bytes": float(len(glb)),
            "fbx_bytes": float(len(fbx) if fbx is not None else 0),
        },
    )
