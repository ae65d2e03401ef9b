"""Shaping a Model for an engine preset: leaf joints, rest pose, joint orientation, names, normals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assetcore.geometry.meshops import vertex_normals
from assetcore.geometry.model import Clip, Mesh, Model, Skeleton, Skin
from assetcore.geometry.rest_pose import orient_joints, t_pose
from assetcore.geometry.skeleton import is_end_joint, skeleton_kind
from services.export.options import ExportPlan


def conform_model(model: Model, plan: ExportPlan, *, keep_clips: bool = True) -> Model:
    """A copy of `model` named and trimmed for the plan's engine preset."""
    preset = plan.preset
    skinned = model.skeleton is not None and model.skin is not None
    mesh = _named_mesh(model.mesh, preset.asset_name(plan.base_name, skinned=skinned))
    if not skinned:
        return Model(mesh=mesh)
    assert model.skeleton is not None and model.skin is not None
    skeleton, skin, clips = model.skeleton, model.skin, model.clips if keep_clips else []
    if preset.strip_end_joints:
        skeleton, skin, clips = strip_end_joints(skeleton, skin, clips)
    humanoid = skeleton_kind(skeleton) == "humanoid"
    rested = Model(mesh=mesh, skeleton=skeleton, skin=skin, clips=clips)
    if preset.t_pose:  # before renaming: t_pose finds the arms by their rig names
        rested = t_pose(rested)
    if preset.oriented_joints:
        rested = orient_joints(rested)
    assert rested.skeleton is not None
    mesh, skeleton, clips = rested.mesh, rested.skeleton, rested.clips
    skeleton = replace(
        skeleton, names=[preset.joint_name(name, humanoid=humanoid) for name in skeleton.names]
    )
    clips = [
        Clip(
            name=preset.clip_name(plan.base_name, clip.name, loop=clip.loop),
            fps=clip.fps,
            rotations=clip.rotations,
            root_translations=clip.root_translations,
            loop=clip.loop,
        )
        for clip in clips
    ]
    return Model(mesh=mesh, skeleton=skeleton, skin=skin, clips=clips)


def _named_mesh(mesh: Mesh, name: str) -> Mesh:
    """The mesh renamed, with normals; every other field (tangents, textures, ...) kept."""
    normals = mesh.normals if mesh.normals is not None else vertex_normals(mesh.positions, mesh.faces)
    return replace(mesh, normals=normals, name=name)


def strip_end_joints(skeleton: Skeleton, skin: Skin, clips: list[Clip]) -> tuple[Skeleton, Skin, list[Clip]]:
    """Drop *_End leaf joints; any weight they carry moves to their parent."""
    parents = np.asarray(skeleton.parents)
    has_children = np.zeros(skeleton.joint_count, bool)
    has_children[parents[parents >= 0]] = True
    drop = np.array(
        [
            is_end_joint(name) and not has_children[j] and parents[j] >= 0
            for j, name in enumerate(skeleton.names)
        ]
    )
    if not drop.any():
        return skeleton, skin, clips
    keep = np.flatnonzero(~drop)
    new_index = np.full(skeleton.joint_count, -1, np.int64)
    new_index[keep] = np.arange(len(keep))
    target = np.where(drop, parents, np.arange(skeleton.joint_count))  # dropped leaves fold into the parent
    stripped = Skeleton(
        names=[skeleton.names[j] for j in keep],
        parents=np.array([new_index[p] if p >= 0 else -1 for p in parents[keep]], np.int32),
        heads=skeleton.heads[keep],
        tails=skeleton.tails[keep],
    )
    remapped = Skin(
        joints=new_index[target[skin.joints.astype(np.int64)]].astype(np.uint16), weights=skin.weights
    )
    kept_clips = [
        Clip(
            name=clip.name,
            fps=clip.fps,
            rotations=clip.rotations[:, keep],
            root_translations=clip.root_translations,
            loop=clip.loop,
        )
        for clip in clips
    ]
    return stripped, remapped, kept_clips
