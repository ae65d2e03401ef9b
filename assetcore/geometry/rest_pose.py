"""Export-time rest poses: a humanoid re-posed into a T-pose, and joints oriented along their bones.

Both return an equivalent Model: every clip frame moves the skin as before (exactly for vertices
bound to one joint; within linear blend skinning's blend error where two joints share a vertex
and the rest change turned one against the other), so the rig and anim steps keep working in
the concept's A-pose with identity rest rotations and only the exported file changes.

T-pose: upper arms, forearms and hands point straight out along +-X; spread legs (more than
LEG_SPREAD_DEGREES off vertical in the front view) are turned straight down, keeping their
forward bend, and the feet keep their orientation; the model is lifted or lowered so its lowest
point stays where it was. With D_j the world turn a joint's frame makes (applied to the bind
pose by skinning) and Q_j a clip's local rotation, the new local rotation is
D_parent Q_j D_j^-1 (identity rest rotations stay identity): each joint's world rotation becomes
G_j D_j^-1, which applied to the re-posed skin gives back the old frame.

Oriented joints (the glTF / Blender convention): each joint's +Y points from its head to its tail
(the child it aims at; a zero-length bone aims at its first child's head); the roll keeps +Z
towards the subject's front (+Z), or, for bones that themselves point forward or back (feet,
toes), towards up (+Y); +X = Y x Z. So the twist axis is +Y everywhere and elbows and knees bend
about +-X, as Unity's Humanoid and Godot's SkeletonProfileHumanoid expect. Local rest rotation
r_j = R_parent^-1 R_j, and a clip's local rotation becomes R_parent^-1 Q_j R_j.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assetcore.geometry.model import Clip, Model, Skeleton
from assetcore.geometry.posing import (
    Floats,
    blend,
    matrix_quaternions,
    rotation_matrices,
    skin_directions,
    skin_points,
)
from assetcore.geometry.skeleton import SIDES, skeleton_kind

LEG_SPREAD_DEGREES = 3.0  # legs closer to vertical than this (front view) are left as they are
FORWARD_LIMIT = 0.9  # |cos| between a bone and +Z above which its roll references +Y instead
ARM_BONES = ("Arm", "ForeArm", "Hand")
LEG_BONES = ("UpLeg", "Leg")


def t_pose(model: Model) -> Model:
    """A humanoid's model in a T-pose rest (other models are returned as they are)."""
    skeleton = _identity_rest_skeleton(model)
    if skeleton is None or model.skin is None or skeleton_kind(skeleton) != "humanoid":
        return model
    maps = t_pose_maps(skeleton)
    turns = maps[:, :, :3]
    heads = np.einsum("jab,jb->ja", turns, skeleton.heads) + maps[:, :, 3]
    tails = np.einsum("jab,jb->ja", turns, skeleton.tails) + maps[:, :, 3]
    blended = blend(model.skin, maps)
    positions = skin_points(model.mesh.positions, blended)
    lift = float(model.mesh.positions[:, 1].min() - positions[:, 1].min()) if len(positions) else 0.0
    shift = np.array([0.0, lift, 0.0])
    mesh = replace(
        model.mesh,
        positions=(positions + shift).astype(np.float32),
        normals=None if model.mesh.normals is None else _f32(skin_directions(model.mesh.normals, blended)),
        tangents=None if model.mesh.tangents is None else _turned_tangents(model.mesh.tangents, blended),
    )
    posed = replace(skeleton, heads=_f32(heads + shift), tails=_f32(tails + shift))
    parent_turns, undo = _parent_frames(skeleton.parents, turns), np.swapaxes(turns, -1, -2)
    clips = [_reexpressed(clip, parent_turns, undo, -shift) for clip in model.clips]
    return replace(model, mesh=mesh, skeleton=posed, clips=clips)


def orient_joints(model: Model) -> Model:
    """The model with each joint's rest rotation aligning its +Y with its bone (see the docstring)."""
    skeleton = _identity_rest_skeleton(model)
    if skeleton is None:
        return model
    frames = bone_frames(skeleton)
    parent_frames = _parent_frames(skeleton.parents, frames)
    rest = np.einsum("jba,jbc->jac", parent_frames, frames)  # R_p^-1 R_j
    clips = [
        _reexpressed(clip, np.swapaxes(parent_frames, -1, -2), frames, np.zeros(3)) for clip in model.clips
    ]
    oriented = replace(skeleton, rest_rotations=_f32(matrix_quaternions(rest)))
    return replace(model, skeleton=oriented, clips=clips)


def bone_frames(skeleton: Skeleton) -> Floats:
    """(J, 3, 3) world rotations whose columns X, Y, Z put Y along each bone (see the docstring)."""
    frames = np.zeros((skeleton.joint_count, 3, 3))
    parents = skeleton.parents.tolist()
    for joint, parent in enumerate(parents):
        along = np.asarray(skeleton.tails[joint] - skeleton.heads[joint], np.float64)
        if np.linalg.norm(along) < 1e-9 and joint in parents:  # a zero-length bone aims at its first child
            along = np.asarray(skeleton.heads[parents.index(joint)] - skeleton.heads[joint], np.float64)
        if np.linalg.norm(along) < 1e-9:  # no direction at all: the parent's axes
            frames[joint] = frames[parent] if parent >= 0 else np.eye(3)
            continue
        y = along / np.linalg.norm(along)
        reference = np.array([0.0, 1.0, 0.0]) if abs(y[2]) > FORWARD_LIMIT else np.array([0.0, 0.0, 1.0])
        z = reference - reference.dot(y) * y
        z /= np.linalg.norm(z)
        frames[joint] = np.column_stack([np.cross(y, z), y, z])
    return frames


def _identity_rest_skeleton(model: Model) -> Skeleton | None:
    skeleton = model.skeleton
    if skeleton is not None and skeleton.rest_rotations is not None:
        raise ValueError("rest poses are changed on identity-rest skeletons only (as the rig step makes)")
    return skeleton


def t_pose_maps(skeleton: Skeleton) -> Floats:
    """(J, 3, 4) affine maps [D_j | h'_j - D_j h_j] taking each joint's rest frame to its T-pose one.

    A vertex skinned to joints k with weights w_k lands at sum_k w_k A_k v; posing it back with any
    clip errs by at most sum_jk w_j w_k |A_k v - A_j v| (the clip's joint transforms are rigid), so
    vertices whose joints turn alike come back exactly.
    """
    targets: dict[str, Floats] = {}
    kept: set[str] = set()
    for sign, side in zip((1.0, -1.0), SIDES, strict=True):  # the subject's left is +X
        targets.update({side + bone: np.array([sign, 0.0, 0.0]) for bone in ARM_BONES})
        legs = [side + bone for bone in LEG_BONES]
        if all(name in skeleton.names for name in legs) and _spread(skeleton, legs[0]):
            for name in legs:
                along = _bone(skeleton, name)
                targets[name] = np.array([0.0, along[1], along[2]])
            kept.add(f"{side}Foot")
    turns = np.tile(np.eye(3), (skeleton.joint_count, 1, 1))
    for joint, (name, parent) in enumerate(zip(skeleton.names, skeleton.parents.tolist(), strict=True)):
        if name in targets:
            turns[joint] = _shortest_turn(_bone(skeleton, name), targets[name])
        elif parent >= 0 and name not in kept:
            turns[joint] = turns[parent]
    heads = _turned_heads(skeleton, turns)
    return np.concatenate([turns, (heads - np.einsum("jab,jb->ja", turns, skeleton.heads))[..., None]], -1)


def _spread(skeleton: Skeleton, up_leg: str) -> bool:
    along = _bone(skeleton, up_leg)
    return bool(np.degrees(np.arctan2(abs(along[0]), -along[1])) > LEG_SPREAD_DEGREES)


def _bone(skeleton: Skeleton, name: str) -> Floats:
    joint = skeleton.names.index(name)
    return np.asarray(skeleton.tails[joint] - skeleton.heads[joint], np.float64)


def _shortest_turn(start: Floats, end: Floats) -> Floats:
    """The rotation matrix turning direction `start` onto `end` about their common normal."""
    a, b = start / np.linalg.norm(start), end / np.linalg.norm(end)
    axis, cosine = np.cross(a, b), float(a.dot(b))
    if cosine < -1.0 + 1e-9:  # opposite: half a turn about any perpendicular
        perpendicular = np.cross(a, (1.0, 0.0, 0.0) if abs(a[0]) < 0.9 else (0.0, 1.0, 0.0))
        axis, cosine = perpendicular / np.linalg.norm(perpendicular), -1.0
        return np.asarray(2.0 * np.outer(axis, axis) - np.eye(3))
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.asarray(np.eye(3) + cross + cross @ cross / (1.0 + cosine))


def _turned_heads(skeleton: Skeleton, turns: Floats) -> Floats:
    """Heads after each joint's frame turned by `turns` (a head follows its parent's frame)."""
    old = np.asarray(skeleton.heads, np.float64)
    heads = old.copy()
    for joint, parent in enumerate(skeleton.parents.tolist()):
        if parent >= 0:
            heads[joint] = heads[parent] + turns[parent] @ (old[joint] - old[parent])
    return heads


def _parent_frames(parents: Floats, frames: Floats) -> Floats:
    """(J, 3, 3) each joint's parent's frame (identity for roots)."""
    result = np.tile(np.eye(3), (len(frames), 1, 1))
    has_parent = np.asarray(parents) >= 0
    result[has_parent] = frames[np.asarray(parents)[has_parent]]
    return result


def _reexpressed(clip: Clip, before: Floats, after: Floats, root_shift: Floats) -> Clip:
    """The clip with each local rotation Q_j replaced by before_j Q_j after_j."""
    local = before[None] @ rotation_matrices(clip.rotations) @ after[None]
    rotations = _continuous(matrix_quaternions(local))
    return replace(
        clip,
        rotations=_f32(rotations),
        root_translations=_f32(np.asarray(clip.root_translations, np.float64) + root_shift),
    )


def _continuous(quaternions: Floats) -> Floats:
    """Flip signs so that consecutive frames stay on one hemisphere (glTF interpolates linearly)."""
    result = np.array(quaternions)
    for frame in range(1, len(result)):
        flip = np.sum(result[frame] * result[frame - 1], axis=-1) < 0
        result[frame, flip] *= -1.0
    return result


def _turned_tangents(tangents: Floats, blended: Floats) -> Floats:
    turned = skin_directions(np.asarray(tangents, np.float64)[:, :3], blended)
    return _f32(np.column_stack([turned, np.asarray(tangents)[:, 3]]))


def _f32(values: Floats) -> Floats:
    return np.asarray(values, np.float32)
