"""Forward kinematics and linear blend skinning for skeletons with or without rest rotations.

A joint's rest frame in model space is its head plus its world rest rotation W (the product of
Skeleton.rest_rotations down its chain; identity when there are none). A node's rest translation
is its head offset seen from the parent's frame, W_parent^-1 (head - parent head), as glTF stores
it. A clip's rotations are the joints' local rotations (equal to the rest rotations at rest), and
a vertex moves by the weighted sum of [W(t) | x(t)] @ inverse([W_rest | head]) of its joints.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from assetcore.geometry.model import Clip, Model, Skeleton, Skin

Floats = np.ndarray[Any, Any]


def rotation_matrices(quaternions: Floats) -> Floats:
    """(..., 4) unit quaternions (x, y, z, w) as (..., 3, 3) rotation matrices."""
    values = np.asarray(quaternions, np.float64)
    flat = Rotation.from_quat(values.reshape(-1, 4)).as_matrix()
    return np.asarray(flat.reshape(*values.shape[:-1], 3, 3))


def matrix_quaternions(matrices: Floats) -> Floats:
    """(..., 3, 3) rotation matrices as (..., 4) unit quaternions (x, y, z, w)."""
    values = np.asarray(matrices, np.float64)
    flat = Rotation.from_matrix(values.reshape(-1, 3, 3)).as_quat()
    return np.asarray(flat.reshape(*values.shape[:-2], 4))


def chain(parents: Any, local: Floats) -> Floats:
    """World rotation matrices (..., J, 3, 3) from local ones: parents precede their children."""
    world = np.array(local, np.float64)
    for joint, parent in enumerate(np.asarray(parents).tolist()):
        if parent >= 0:
            world[..., joint, :, :] = world[..., parent, :, :] @ world[..., joint, :, :]
    return world


def rest_world_rotations(skeleton: Skeleton) -> Floats:
    """(J, 3, 3) world rest rotations: the rest rotations multiplied down each chain."""
    if skeleton.rest_rotations is None:
        return np.tile(np.eye(3), (skeleton.joint_count, 1, 1))
    return chain(skeleton.parents, rotation_matrices(skeleton.rest_rotations))


def rest_translations(skeleton: Skeleton) -> Floats:
    """(J, 3) each joint's rest translation in its parent's frame (roots: the head in model space)."""
    heads = np.asarray(skeleton.heads, np.float64)
    parents = np.asarray(skeleton.parents)
    offsets = heads.copy()
    child = parents >= 0
    world = rest_world_rotations(skeleton)
    offsets[child] = np.einsum(
        "jba,jb->ja", world[parents[child]], heads[child] - heads[parents[child]]
    )  # W_parent^T (head - parent head)
    return offsets


def pose(skeleton: Skeleton, rotations: Floats, root_translations: Floats) -> tuple[Floats, Floats]:
    """World rotation matrices (T, J, 3, 3) and heads (T, J, 3) from local rotations (T, J, 4)
    and the root's offsets from its rest head (T, 3)."""
    world = chain(skeleton.parents, rotation_matrices(rotations))
    offsets = rest_translations(skeleton)
    heads = np.zeros((*world.shape[:2], 3))
    for joint, parent in enumerate(skeleton.parents.tolist()):
        if parent < 0:
            heads[:, joint] = offsets[joint] + np.asarray(root_translations, np.float64)
        else:
            heads[:, joint] = heads[:, parent] + world[:, parent] @ offsets[joint]
    return world, heads


def skinning_matrices(skeleton: Skeleton, world: Floats, heads: Floats) -> Floats:
    """(T, J, 3, 4) affine maps from the bind (rest) pose to the posed frames."""
    linear = world @ np.swapaxes(rest_world_rotations(skeleton), -1, -2)  # W(t) W_rest^-1
    shift = heads - np.einsum("tjab,jb->tja", linear, np.asarray(skeleton.heads, np.float64))
    return np.concatenate([linear, shift[..., None]], axis=-1)


def blend(skin: Skin, matrices: Floats) -> Floats:
    """(V, 3, 4) per-vertex weighted sums of one frame's (J, 3, 4) joint matrices."""
    weights = np.asarray(skin.weights, np.float64)
    return np.asarray(np.einsum("vk,vkab->vab", weights, matrices[np.asarray(skin.joints, np.int64)]))


def skin_points(points: Floats, blended: Floats) -> Floats:
    """Points moved by per-vertex (V, 3, 4) blends."""
    turned = np.einsum("vab,vb->va", blended[:, :, :3], np.asarray(points, np.float64))
    return np.asarray(turned + blended[:, :, 3])


def skin_directions(directions: Floats, blended: Floats) -> Floats:
    """Directions (normals, tangents) turned by the blends' linear parts, unit length again."""
    turned = np.einsum("vab,vb->va", blended[:, :, :3], np.asarray(directions, np.float64))
    return np.asarray(turned / np.maximum(np.linalg.norm(turned, axis=1, keepdims=True), 1e-12))


def posed_vertices(model: Model, clip: Clip) -> Floats:
    """(T, V, 3) the skinned mesh's vertex positions on every frame of `clip`."""
    if model.skeleton is None or model.skin is None:
        raise ValueError("posing needs a skeleton and a skin")
    world, heads = pose(model.skeleton, clip.rotations, clip.root_translations)
    matrices = skinning_matrices(model.skeleton, world, heads)
    return np.stack([skin_points(model.mesh.positions, blend(model.skin, frame)) for frame in matrices])
