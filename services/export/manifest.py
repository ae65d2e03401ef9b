"""The export manifest: a JSON description of the exported asset for tools and engines.

Deterministic (sorted keys, no timestamps): it is content-addressed like every artifact.
"bone_maps" maps a humanoid's joints to the preset's engine profiles (profile bone -> joint name,
services.export.bone_maps) so that an engine-side import script can set up the avatar from it.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from assetcore.geometry.model import Model
from assetcore.worker.backend import OutputFile
from services.export.bone_maps import PROFILES

if TYPE_CHECKING:
    from services.export.exporter import PreparedExport

SCHEMA = "assetcore.export.manifest/1"
MAX_INFLUENCES = 4


def build_manifest(prepared: PreparedExport, files: list[OutputFile], *, backend: str) -> bytes:
    plan = prepared.plan
    model = prepared.model
    preset = plan.preset
    lod_suffix = "_LOD{}" if preset.case == "pascal" else "_lod{}"
    names = {
        "glb": f"{prepared.asset_name}.glb",
        "fbx": f"{prepared.asset_name}.fbx",
        **{f"lod{level}_glb": f"{prepared.asset_name}{lod_suffix.format(level)}.glb" for level in (1, 2)},
    }
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "name": prepared.asset_name,
        "engine": plan.engine,
        "backend": backend,
        "source": prepared.source,
        "kind": "skinned" if model.skeleton is not None else "static",
        "files": [
            {
                "artifact": file.name,
                "file_name": names[file.name],
                "media_type": file.media_type,
                "bytes": len(file.data),
                "sha256": file.sha256,
            }
            for file in files
        ],
        "lods": [
            {"level": 0, "artifact": "glb", **_mesh_facts(model)},
            *(
                {"level": int(name[3]), "artifact": name, **_mesh_facts(lod)}
                for name, lod in sorted(prepared.lods.items())
            ),
        ],
        "skeleton": _skeleton_facts(model),
        "bone_maps": {
            key: {"profile": PROFILES[key].title, "docs": PROFILES[key].docs, "bones": bones}
            for key, bones in prepared.bone_maps.items()
        },
        "clips": [
            {
                "name": clip.name,
                "frames": clip.frame_count,
                "fps": clip.fps,
                "duration_s": round(clip.duration, 6),
                "loop": clip.loop,
            }
            for clip in model.clips
        ],
        "material": _material_facts(model),
        "bounds": _bounds(model),
        "conventions": {
            "glb": {"up": "+Y", "forward": "+Z", "units": "m", "handedness": "right"},
            "fbx": {
                "axis_forward": preset.fbx.axis_forward,
                "axis_up": preset.fbx.axis_up,
                "units": preset.fbx.units,
                "leaf_bones": preset.fbx.add_leaf_bones,
                "armature": preset.armature_name,
            },
            "end_joints": "stripped" if preset.strip_end_joints else "kept",
        },
        "gltf": {
            "draco": plan.draco,
            "ktx2": plan.ktx2,  # KHR_texture_basisu copies beside the PNGs (extensionsUsed only)
            "extensions_required": ["KHR_draco_mesh_compression"] if plan.draco else [],
            "max_joint_influences": MAX_INFLUENCES if model.skin is not None else 0,
            "weights_normalized": model.skin is not None,
            "animation_interpolation": "LINEAR" if model.clips else None,
        },
    }
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def _mesh_facts(model: Model) -> dict[str, Any]:
    return {
        "faces": model.mesh.face_count,
        "vertices": model.mesh.vertex_count,
        "skinned": model.skin is not None,
    }


def _skeleton_facts(model: Model) -> dict[str, Any] | None:
    skeleton = model.skeleton
    if skeleton is None:
        return None
    roots = [skeleton.names[j] for j in np.flatnonzero(skeleton.parents < 0)]
    return {"bones": skeleton.joint_count, "roots": roots, "names": list(skeleton.names)}


def _material_facts(model: Model) -> dict[str, Any]:
    mesh = model.mesh
    return {
        "base_color_texture": _texture_facts(mesh.texture_png),
        "normal_texture": _texture_facts(mesh.normal_png),
        "metallic_roughness_texture": _texture_facts(mesh.metal_rough_png),
        "vertex_colors": mesh.colors is not None,
    }


def _texture_facts(png: bytes | None) -> dict[str, Any] | None:
    if png is None:
        return None
    with Image.open(io.BytesIO(png)) as image:
        return {"width": image.width, "height": image.height, "format": "png"}


def _bounds(model: Model) -> dict[str, Any]:
    positions = model.mesh.positions
    low = positions.min(axis=0).astype(float)
    high = positions.max(axis=0).astype(float)
    return {
        "min": [round(v, 6) for v in low.tolist()],
        "max": [round(v, 6) for v in high.tolist()],
        "height_m": round(float(high[1] - low[1]), 6),
    }
