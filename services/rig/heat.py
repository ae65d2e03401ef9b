"""Bone-heat skin weights confined by the body segmentation (services.rig.segments).

Plain bone heat (Baran and Popović) heats each vertex by the nearest bone it can see and lets the
heat diffuse: on a wide torso the spine is far, its heat weak, and the strong heat of the arms
and thighs floods the chest and belly. Here the weights are a blend of per-segment solutions:
    w_j = sum_k s_k * w_j^k
where s_k is the share of segment k at a vertex (the segment labels diffused over the surface,
(L + M / l^2) s_k = M 1[label = k] / l^2, so the torso and a limb blend over about l around the
joint where they meet), and w^k is the bone heat of segment k's bones alone,
(L + M H_k) w_j^k = M H_k p_j, heated only at segment k's vertices. L is the cotangent Laplacian,
M the lumped vertex areas, H = 1 / d^2 for the distance d to the vertex's nearest visible bone of
its segment, p_j = 1 where that bone is j. Both partitions sum to one, so the weights do. l is the
median distance from the surface to its nearest visible bone: about a limb's radius.

A limb that is one chain of bones (an arm, a leg, a tail) takes its w^k from services.rig.chain, as
the torso does: bone heat on these decimated meshes leaks a few tenths of every bone of the limb
over all of it (a thigh was 0.55 thigh, 0.22 shin, 0.18 hips), and in a clip two bones that are not
neighbours pull such a vertex apart (knight sprint: edges 4.9x their rest length; 2.9x with chains).
Bone heat remains for a segment that branches.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import skeleton_kind
from services.rig.chain import chain_weights
from services.rig.segments import HELD_RADII, TORSO, body_segments, held_segments, vertex_segments
from services.rig.voxels import VoxelGrid
from services.rig.weights import (
    MIN_WEIGHT,
    TIE,
    Floats,
    Ints,
    WeldedSurface,
    bone_segments,
    cotangent_laplacian,
    segment_distances,
    visible_bones,
)

# the limb-torso blend spans this many median limb radii, for limbs hanging from the chest and from the
# root (the pelvis): a quadruped's legs join a barrel several radii deep; a humanoid's thigh swings
# further against the pelvis than its arm against the chest, and a blend of 2 spreads the stretch over
# the buttock and groin (knight sprint 2.64x -> 2.30x, run 2.46x -> 2.14x; 1.5 for the arms let a
# hand resting on a robe take a share of the torso: elf attack_thrust 2.30x -> 2.64x)
BLEND_WIDTH = {"humanoid": (1.0, 2.0), "quadruped": (4.0, 4.0)}
HAND_SUFFIX = "Hand"  # an arm's chain ends in its hand, which carries what it holds
OVERLAP = 0.05  # a wider-blending limb's share stays zero where a narrower one's exceeds this


def heat_weights(surface: WeldedSurface, skeleton: Skeleton, grid: VoxelGrid) -> Floats:
    """Dense (welded V, J) weights over all joints (zeros for non-deforming ones)."""
    joints, heads, tails = bone_segments(skeleton)
    points = surface.positions
    distance, closest = segment_distances(points, heads, tails)
    segments = body_segments(skeleton, joints)
    seen = _seen_distance(grid, points, closest, distance)
    nearest = np.argmin(np.where(np.isfinite(seen).any(axis=1)[:, None], seen, distance), axis=1)
    own = distance[np.arange(len(points)), nearest]
    radius = float(np.median(own))
    labels = held_segments(
        vertex_segments(segments, points, nearest, distance), surface.faces, own > HELD_RADII * radius
    )
    laplacian, mass = cotangent_laplacian(points, surface.faces)
    chest, pelvis = BLEND_WIDTH.get(skeleton_kind(skeleton) or "", (1.0, 1.0))
    from_root = segments.parent_bone == int(np.flatnonzero(segments.bone_segment == TORSO)[0])
    reach = radius * np.where(from_root, pelvis, chest)
    shares = _segment_shares(laplacian, mass, labels, reach)

    depth = np.array([_depth(skeleton, j) for j in joints])
    solved = np.zeros(distance.shape)
    for segment in np.unique(labels):
        rows, bones = np.flatnonzero(labels == segment), np.flatnonzero(segments.bone_segment == segment)
        bones = bones[np.argsort(depth[bones], kind="stable")]
        if segment == TORSO or _is_chain(skeleton, [joints[b] for b in bones]):
            along = chain_weights(points, heads[bones], tails[bones])
            if skeleton.names[joints[bones[-1]]].endswith(HAND_SUFFIX):
                along = _held_by_the_hand(along, own / radius)
            solved[:, bones] += shares[:, [segment]] * along
            continue
        heat, sources = _heat_sources(grid, points[rows], closest[rows][:, bones], distance[rows][:, bones])
        mass_heat = np.zeros(len(points))
        mass_heat[rows] = mass[rows] * heat
        regulariser = 1e-9 * float(max(mass_heat.max(), 1e-30))
        system = (laplacian + sparse.diags(mass_heat + regulariser)).tocsc()
        rhs = np.zeros((len(points), len(bones)))
        rhs[rows] = mass_heat[rows, None] * sources
        solved[:, bones] += shares[:, [segment]] * np.clip(sparse_linalg.splu(system).solve(rhs), 0.0, 1.0)
    dense = np.zeros((len(points), skeleton.joint_count))
    dense[:, joints] = solved
    unweighted = dense.sum(axis=1) < MIN_WEIGHT
    if unweighted.any():  # parts no bone of their segment can see: its nearest bone takes them
        in_segment = segments.bone_segment[None, :] == labels[unweighted, None]
        fallback = np.argmin(np.where(in_segment, distance[unweighted], np.inf), axis=1)
        dense[np.flatnonzero(unweighted), np.array(joints)[fallback]] = 1.0
    return dense


def _held_by_the_hand(along: Floats, radii: Floats) -> Floats:
    """Chain weights of an arm with the points far from every bone (`radii`: in median limb radii),
    what the hand holds, given to the hand: wholly beyond HELD_RADII, ramping in over the radius
    before. By its place along the arm, the top of a staff held at the hip followed the upper arm a
    little and bent with the elbow (elf attack: an edge 2.7x its rest length)."""
    held = np.clip(radii - (HELD_RADII - 1.0), 0.0, 1.0)[:, None]
    hand = np.arange(along.shape[1]) == along.shape[1] - 1
    weights: Floats = (1.0 - held) * along + held * hand
    return weights


def _seen_distance(grid: VoxelGrid, points: Floats, closest: Floats, distance: Floats) -> Floats:
    """`distance` where the bone is visible from the point, inf elsewhere."""
    return np.where(visible_bones(grid, points, closest, distance), distance, np.inf)


def _segment_shares(laplacian: sparse.csr_matrix, mass: Floats, labels: Ints, reach: Floats) -> Floats:
    """(V, S): each segment's share of every vertex. A limb's label diffuses over about `reach` into
    the torso, never into another limb (held at zero there) nor where a limb of a shorter reach has
    more than OVERLAP (a thigh's wide blend stops short of a hand resting on the hip); the torso has
    what the limbs leave."""
    count = len(reach)
    shares = np.zeros((len(labels), count))
    for segment in sorted(range(1, count), key=lambda k: float(reach[k])):
        stiffness = mass / max(float(reach[segment]), 1e-6) ** 2
        pinned = float(stiffness.max()) * 1e6
        shorter = shares[:, [k for k in range(1, count) if reach[k] < reach[segment]]].sum(axis=1)
        other = ((labels != segment) & (labels != TORSO)) | (shorter > OVERLAP)
        system = (laplacian + sparse.diags(np.where(other, pinned, stiffness))).tocsc()
        rhs = np.where(labels == segment, stiffness, 0.0)
        shares[:, segment] = np.clip(sparse_linalg.splu(system).solve(rhs), 0.0, 1.0)
    shares[:, TORSO] = np.clip(1.0 - shares[:, 1:].sum(axis=1), 0.0, None)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
    return shares


def _heat_sources(
    grid: VoxelGrid, points: Floats, closest: Floats, distance: Floats
) -> tuple[Floats, Floats]:
    """Heat 1/d^2 from each point's nearest visible bone, and (P, B) which bones share it (rows sum to 1
    or, for a point that sees none, 0: the diffusion from its neighbours weights it)."""
    seen = _seen_distance(grid, points, closest, distance)
    seen = np.where(np.isfinite(seen).any(axis=1)[:, None], seen, distance)
    nearest = seen.min(axis=1)
    heated = np.isfinite(nearest)
    nearest_safe = np.where(heated, np.maximum(nearest, 1e-9), 1.0)
    sources = ((seen <= nearest_safe[:, None] * TIE) & heated[:, None]).astype(np.float64)
    sources /= np.maximum(sources.sum(axis=1, keepdims=True), 1.0)
    return np.where(heated, 1.0 / nearest_safe**2, 0.0), sources


def _is_chain(skeleton: Skeleton, ordered: list[int]) -> bool:
    """Whether the joints (root first) form one unbranched chain, each the child of the one before."""
    return all(int(skeleton.parents[child]) == parent for parent, child in itertools.pairwise(ordered))


def _depth(skeleton: Skeleton, joint: int) -> int:
    depth = 0
    while int(skeleton.parents[joint]) >= 0:
        joint, depth = int(skeleton.parents[joint]), depth + 1
    return depth
