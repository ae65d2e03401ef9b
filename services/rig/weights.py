"""The pieces of bone-heat skinning (Baran and Popović, "Automatic Rigging and Animation of 3D
Characters") and of the skin contract: the welded surface the weights are solved on, point-to-bone
distances, which bones a point can see from inside the solid, the cotangent Laplacian, and the
top-4 truncation every backend's weights pass through. services.rig.heat solves the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, sparse
from scipy.spatial import cKDTree

from assetcore.geometry.meshops import weld
from assetcore.geometry.model import Mesh, Skeleton, Skin
from assetcore.geometry.skeleton import deforming_joints
from services.rig.voxels import VoxelGrid

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

MAX_INFLUENCES = 4
_VISIBILITY_SAMPLES = 12
MIN_WEIGHT = 1e-3  # influences below this are dropped before renormalising
TIE = 1.0001  # bones this close to the nearest visible one share its heat


@dataclass(frozen=True)
class WeldedSurface:
    """The mesh with coincident vertices merged: `index[v]` is vertex v's welded vertex."""

    positions: Floats
    faces: Ints
    index: Ints


def weld_surface(mesh: Mesh) -> WeldedSurface:
    """The mesh welded (meshops.weld) with a map from every original vertex to its welded one."""
    positions, faces = weld(mesh.positions, mesh.faces)
    _, index = cKDTree(positions).query(mesh.positions.astype(np.float64))
    return WeldedSurface(positions=positions, faces=faces, index=np.asarray(index, dtype=np.int64))


def bone_segments(skeleton: Skeleton) -> tuple[list[int], Floats, Floats]:
    """Deforming joint indices with their bone segments (heads, tails)."""
    joints = deforming_joints(skeleton)
    return joints, skeleton.heads[joints].astype(np.float64), skeleton.tails[joints].astype(np.float64)


def segment_distances(points: Floats, heads: Floats, tails: Floats) -> tuple[Floats, Floats]:
    """Distance (P, B) from each point to each segment, and the closest points (P, B, 3)."""
    axis = tails - heads
    length2 = np.maximum(np.sum(axis**2, axis=1), 1e-18)
    t = np.clip(np.einsum("pbk,bk->pb", points[:, None, :] - heads[None], axis) / length2, 0.0, 1.0)
    closest = heads[None] + t[..., None] * axis[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=2), closest


def visible_bones(
    grid: VoxelGrid, points: Floats, closest: Floats, distance: Floats
) -> npt.NDArray[np.bool_]:
    """(P, B): whether the segment from each point to its closest point on each bone stays inside.

    The first stretch next to the surface is skipped (voxels blur it) and the solid is dilated by
    a voxel, so a vertex always sees the bones of the limb it lies on. Only what the heat needs
    is tested: bones in order of distance until one is visible, then any at the same distance.
    """
    occupied = _dilated(grid)
    order = np.argsort(distance, axis=1, kind="stable")
    visible = np.zeros(distance.shape, dtype=bool)
    nearest_seen = np.full(len(points), np.inf)
    pending = np.arange(len(points))
    for rank in range(distance.shape[1]):
        bones = order[pending, rank]
        tied = np.isfinite(distance[pending, bones]) & (
            distance[pending, bones] <= nearest_seen[pending] * TIE
        )
        pending, bones = pending[tied], bones[tied]
        if len(pending) == 0:
            break
        seen = _segment_inside(occupied, points[pending], closest[pending, bones])
        visible[pending[seen], bones[seen]] = True
        nearest_seen[pending[seen]] = np.minimum(
            nearest_seen[pending[seen]], distance[pending[seen], bones[seen]]
        )
    return visible


def _segment_inside(grid: VoxelGrid, starts: Floats, ends: Floats) -> npt.NDArray[np.bool_]:
    inside = np.ones(len(starts), dtype=bool)
    for t in np.linspace(0.2, 1.0, _VISIBILITY_SAMPLES):
        inside &= grid.contains(starts + t * (ends - starts))
    return inside


def _dilated(grid: VoxelGrid) -> VoxelGrid:
    return VoxelGrid(occupied=ndimage.binary_dilation(grid.occupied), origin=grid.origin, pitch=grid.pitch)


def cotangent_laplacian(positions: Floats, faces: Ints) -> tuple[sparse.csr_matrix, Floats]:
    """The cotangent stiffness matrix (negative cotangents clamped to 0) and lumped vertex areas."""
    n = len(positions)
    corners = positions[faces]
    rows, cols, values = [], [], []
    for k in range(3):
        i, j, o = faces[:, (k + 1) % 3], faces[:, (k + 2) % 3], faces[:, k]
        u = positions[i] - positions[o]
        v = positions[j] - positions[o]
        cross = np.linalg.norm(np.cross(u, v), axis=1)
        cot = np.einsum("fk,fk->f", u, v) / np.maximum(cross, 1e-18)
        weight = 0.5 * np.maximum(cot, 0.0)
        rows += [i, j]
        cols += [j, i]
        values += [weight, weight]
    off = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    conduct = 1e-3 * float(off.data.mean()) if off.nnz else 1.0
    off = off + conduct * _edge_graph(faces, n)  # every edge conducts a little, even across slivers
    laplacian = sparse.diags(np.asarray(off.sum(axis=1)).ravel()) - off
    areas = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    mass = np.bincount(faces.ravel(), weights=np.repeat(areas / 3.0, 3), minlength=n).astype(np.float64)
    return laplacian.tocsr(), mass


def _edge_graph(faces: Ints, n: int) -> sparse.csr_matrix:
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = sparse.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    graph = graph + graph.T
    graph.data[:] = 1.0
    return graph


def nearest_bone_weights(positions: Floats, skeleton: Skeleton) -> Floats:
    """Dense (V, J) weights giving each vertex wholly to its nearest bone (the last resort)."""
    joints, heads, tails = bone_segments(skeleton)
    distance, _ = segment_distances(positions, heads, tails)
    dense = np.zeros((len(positions), skeleton.joint_count))
    dense[np.arange(len(positions)), np.array(joints)[np.argmin(distance, axis=1)]] = 1.0
    return dense


def top_influences(dense: Floats) -> Skin:
    """A Skin of each row's 4 largest weights, renormalised.

    The fifth-largest weight is subtracted from the kept four first, so a bone entering or
    leaving a row's top four does so at weight 0: the truncation leaves no seam in the skin.
    """
    count = min(MAX_INFLUENCES, dense.shape[1])
    order = np.argsort(-dense, axis=1, kind="stable")
    weights = np.take_along_axis(dense, order[:, :count], axis=1)
    if dense.shape[1] > count:
        weights = weights - np.take_along_axis(dense, order[:, count : count + 1], axis=1)
    weights = np.where(weights >= MIN_WEIGHT, weights, 0.0)
    weights[weights.sum(axis=1) <= 0, 0] = 1.0  # a tie of five (or an empty row): the top bone alone
    weights = weights / weights.sum(axis=1, keepdims=True)
    joints = np.where(weights > 0, order[:, :count], 0)
    pad = MAX_INFLUENCES - count
    if pad:
        joints = np.pad(joints, ((0, 0), (0, pad)))
        weights = np.pad(weights, ((0, 0), (0, pad)))
    return Skin(joints=joints.astype(np.uint16), weights=weights.astype(np.float32))
