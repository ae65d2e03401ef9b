"""Linear blend skinning of a GLB's mesh by its skeleton and clips (numpy, every frame at once).

Conventions are `read_glb`'s: rest joints have identity rotations, a clip holds local joint
rotations (x, y, z, w) and the root's offset from its rest head.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Clip, Skeleton, Skin

Floats = npt.NDArray[np.float64]


def quaternion_matrices(quaternions: npt.ArrayLike) -> Floats:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) in (x, y, z, w) order."""
    q = np.asarray(quaternions, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def world_pose(skeleton: Skeleton, clip: Clip) -> tuple[Floats, Floats]:
    """World rotations (T, J, 3, 3) and joint head positions (T, J, 3) for every frame of a clip."""
    local = quaternion_matrices(clip.rotations)
    rest = skeleton.heads.astype(np.float64)
    rotations = np.empty_like(local)
    heads = np.empty((clip.frame_count, skeleton.joint_count, 3))
    for j, parent in enumerate(skeleton.parents):
        if parent < 0:
            rotations[:, j] = local[:, j]
            heads[:, j] = rest[j] + clip.root_translations.astype(np.float64)
        else:
            rotations[:, j] = rotations[:, parent] @ local[:, j]
            heads[:, j] = heads[:, parent] + rotations[:, parent] @ (rest[j] - rest[parent])
    return rotations, heads


def skinned_positions(positions: npt.ArrayLike, skeleton: Skeleton, skin: Skin, clip: Clip) -> Floats:
    """Vertex positions (T, V, 3) of the mesh at every frame of the clip."""
    rotations, heads = world_pose(skeleton, clip)
    rest = skeleton.heads.astype(np.float64)
    points = np.asarray(positions, dtype=np.float64)
    posed = np.zeros((clip.frame_count, *points.shape))
    for slot in range(skin.joints.shape[1]):
        joints = skin.joints[:, slot].astype(np.int64)
        weights: Any = skin.weights[:, slot].astype(np.float64)[None, :, None]
        local = points - rest[joints]  # (V, 3)
        moved = np.einsum("tvij,vj->tvi", rotations[:, joints], local) + heads[:, joints]
        posed += weights * moved
    return posed
