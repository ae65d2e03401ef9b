"""Pose a skinned model at one frame of a clip (linear blend skinning), for previews and checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assetcore.geometry.model import Clip, Model, Skeleton
from services.anim import quaternions as quat
from services.anim.quaternions import Floats


def world_pose(skeleton: Skeleton, clip: Clip, frame: int) -> tuple[Floats, Floats]:
    """World rotations (J, 4) and head positions (J, 3) of the skeleton at a frame."""
    local = clip.rotations[frame].astype(np.float64)
    rest = skeleton.heads.astype(np.float64)
    rotations = np.zeros_like(local)
    heads = np.zeros_like(rest)
    for j, parent in enumerate(skeleton.parents):
        if parent < 0:
            rotations[j] = local[j]
            heads[j] = rest[j] + clip.root_translations[frame]
        else:
            rotations[j] = quat.multiply(rotations[parent], local[j])
            heads[j] = heads[parent] + quat.rotate(rotations[parent], rest[j] - rest[parent])
    return rotations, heads


def posed_model(model: Model, clip: Clip, frame: int) -> Model:
    """The model's mesh and skeleton moved into a frame of the clip."""
    skeleton, skin = model.skeleton, model.skin
    assert skeleton is not None and skin is not None
    rotations, heads = world_pose(skeleton, clip, frame)
    rest = skeleton.heads.astype(np.float64)
    positions = model.mesh.positions.astype(np.float64)
    posed = np.zeros_like(positions)
    for slot in range(skin.joints.shape[1]):
        joints = skin.joints[:, slot].astype(np.int64)
        weight = skin.weights[:, slot].astype(np.float64)[:, None]
        moved = quat.rotate(rotations[joints], positions - rest[joints]) + heads[joints]
        posed += weight * moved
    tails = heads + quat.rotate(rotations, skeleton.tails.astype(np.float64) - rest)
    mesh = replace(model.mesh, positions=posed.astype(np.float32), normals=None)
    posed_skeleton = replace(skeleton, heads=heads.astype(np.float32), tails=tails.astype(np.float32))
    return Model(mesh=mesh, skeleton=posed_skeleton, skin=skin)
