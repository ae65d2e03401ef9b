"""Every metric of one generated asset: its GLBs (LOD0 first) in, one JSON-ready dict out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Model
from assetcore.geometry.skeleton import skeleton_kind
from bench.quality_metrics.deformation import unique_edges, worst_stretch
from bench.quality_metrics.feet import mean_planted_slide
from bench.quality_metrics.penetration import hand_vertices_inside
from bench.quality_metrics.skinning import skinned_positions
from bench.quality_metrics.texture import back_front
from bench.quality_metrics.uv import uv_coverage, uv_islands
from bench.quality_metrics.validation import validator_summary
from bench.quality_metrics.weights import arm_and_leg_vertices, torso_spine_share


def measure_asset(glbs: list[Path]) -> dict[str, Any]:
    """Validator results for every GLB; the other metrics on the first (LOD0)."""
    lod0 = glbs[0].read_bytes()
    model = read_glb(lod0)
    mesh = model.mesh
    result: dict[str, Any] = {
        "validator": {path.name: validator_summary(path.read_bytes()) for path in glbs},
        "vertices": mesh.vertex_count,
        "triangles": mesh.face_count,
        "skeleton": skeleton_kind(model.skeleton) if model.skeleton is not None else None,
        "clips": [clip.name for clip in model.clips],
    }
    if mesh.uvs is not None:
        result["uv_coverage"] = uv_coverage(mesh.uvs, mesh.faces)
        result["uv_islands"] = uv_islands(mesh.positions, mesh.uvs, mesh.faces)
    for key, axis in (("back_front", 2), ("left_right", 0)):
        view = back_front(mesh, depth_axis=axis)
        result[key] = {"difference": view.difference, "correlation": view.correlation, "pixels": view.pixels}
    return result | _rig_metrics(model)


def _rig_metrics(model: Model) -> dict[str, Any]:
    skeleton, skin = model.skeleton, model.skin
    if skeleton is None or skin is None:
        return {}
    kind = skeleton_kind(skeleton)
    positions = model.mesh.positions
    edges = unique_edges(model.mesh.faces)
    stretch = {
        clip.name: worst_stretch(positions, skinned_positions(positions, skeleton, skin, clip), edges)
        for clip in model.clips
    }
    return {
        "torso_spine_share": torso_spine_share(positions, skeleton, skin) if kind else None,
        "arm_and_leg_vertices": arm_and_leg_vertices(skeleton, skin) if kind == "humanoid" else None,
        "worst_edge_stretch": max(stretch.values(), default=None),
        "edge_stretch_per_clip": stretch,
        "planted_foot_slide_m_s": mean_planted_slide(skeleton, model.clips),
        "hand_vertices_inside_body": hand_vertices_inside(model) if kind == "humanoid" else None,
    }
