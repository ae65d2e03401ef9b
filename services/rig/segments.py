"""Body segmentation of a fitted skeleton: which part of the body each surface point belongs to.

The spine chain (the root's path to the head: Hips, Spine.., Neck, Head) is the torso segment;
every limb hanging from it (an arm, a leg, a tail) is a segment of its own. A point belongs to
the segment of the nearest bone it can see, but only past the plane where that limb leaves the
body (through the shoulder or hip joint, facing between the limb's first bone and the way out
from the spine): a point nearest a limb bone on the body's side of that plane is torso. Chests
close to a clavicle and bellies close to a thigh bone are torso.

Held items are found by contiguity: a patch far from every bone (mostly beyond HELD_RADII limb
radii) that its segment's main patch does not reach (the lower half of a staff held at the hand lies
nearer the spine or a leg than the hand) joins the segment it borders most: it can only move with
what holds it. Patches of the body itself (robe flaps between the legs) stay as labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from assetcore.geometry.model import Skeleton

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

TORSO = 0
SPINE_END = "Head"
LIMB_MARGIN = 0.6  # a limb point is at most this fraction of its distance to the spine from its limb
HELD_RADII = 3.0  # farther than this many median limb radii from every bone: not body, a held item
MAX_MERGE_ROUNDS = 4  # a patch inside a patch inside a segment needs two; more means a pathological mesh
CLAVICLE_SUFFIX = "Shoulder"  # a clavicle lies inside the torso: its limb leaves the body at its tail


@dataclass(frozen=True)
class BodySegments:
    """Segments over the columns of the deforming bones (segment 0 is the torso)."""

    bone_segment: Ints  # (B,) the segment of each bone column
    root_bone: Ints  # (S,) each limb's first bone column (-1 for the torso)
    parent_bone: Ints  # (S,) the spine bone column each limb hangs from (-1 for the torso)
    joint: Floats  # (S, 3) where each limb leaves the body
    outward: Floats  # (S, 3) the unit normal of the plane it leaves through, pointing out

    @property
    def count(self) -> int:
        return len(self.root_bone)


def body_segments(skeleton: Skeleton, joints: list[int]) -> BodySegments:
    """The segments of the deforming `joints` (bone columns in that order).

    A skeleton without a joint named Head is one segment: nothing is constrained.
    """
    column = {joint: i for i, joint in enumerate(joints)}
    spine = _spine_chain(skeleton)
    bone_segment = np.zeros(len(joints), dtype=np.int64)
    roots, parents, points, directions = [-1], [-1], [np.zeros(3)], [np.zeros(3)]
    for joint in joints:
        parent = int(skeleton.parents[joint])
        if joint in spine or parent not in spine or parent not in column:
            continue
        segment = len(roots)
        for member in _subtree(skeleton, joint):
            if member in column:
                bone_segment[column[member]] = segment
        leaves_at, along = _exit(skeleton, joint)
        roots.append(column[joint])
        parents.append(column[parent])
        points.append(leaves_at)
        directions.append(along)
    return BodySegments(
        bone_segment=bone_segment,
        root_bone=np.array(roots, dtype=np.int64),
        parent_bone=np.array(parents, dtype=np.int64),
        joint=np.array(points, dtype=np.float64),
        outward=np.array(directions, dtype=np.float64),
    )


def vertex_segments(segments: BodySegments, points: Floats, nearest_bone: Ints, distance: Floats) -> Ints:
    """(P,) the segment of each point from its nearest visible bone column (`distance`: (P, B) to
    every bone). A limb keeps only the points past its joint plane that are clearly nearer to it than
    to the spine chain; the rest are torso."""
    labels = segments.bone_segment[nearest_bone]
    beyond = np.einsum("pk,pk->p", points - segments.joint[labels], segments.outward[labels]) >= 0.0
    spine = segments.bone_segment == TORSO
    torso_distance = distance[:, spine].min(axis=1) if spine.any() else np.full(len(points), np.inf)
    own = distance[np.arange(len(points)), nearest_bone]
    return np.where(beyond & (own <= LIMB_MARGIN * torso_distance), labels, TORSO)


def held_segments(labels: Ints, faces: Ints, far: npt.NDArray[np.bool_]) -> Ints:
    """`labels` with every patch that is cut off from its segment's largest patch and mostly `far`
    (from every bone) given to the segment it shares the most edges with, repeated until no patch
    moves."""
    labels = labels.copy()
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).astype(np.int64)
    edges = np.concatenate([edges, edges[:, ::-1]])  # both directions: a border edge counts from either side
    for _ in range(MAX_MERGE_ROUNDS):
        same = labels[edges[:, 0]] == labels[edges[:, 1]]
        graph = sparse.coo_matrix(
            (np.ones(int(same.sum())), (edges[same, 0], edges[same, 1])), shape=(len(labels), len(labels))
        )
        patches, patch = csgraph.connected_components(graph, directed=False)
        stray = np.zeros(len(labels), dtype=bool)
        for segment in np.unique(labels):
            members = labels == segment
            sizes = np.bincount(patch[members])
            stray |= members & (patch != int(np.argmax(sizes)))
        far_share = np.bincount(patch, weights=far.astype(np.float64)) / np.bincount(patch)
        stray &= far_share[patch] > 0.5
        border = stray[edges[:, 0]] & ~same
        if not border.any():
            return labels
        votes = sparse.coo_matrix(
            (np.ones(int(border.sum())), (patch[edges[border, 0]], labels[edges[border, 1]])),
            shape=(patches, int(labels.max()) + 1),
        ).tocsr()
        target = np.asarray(votes.argmax(axis=1)).ravel()
        moved = stray & (np.asarray(votes.sum(axis=1)).ravel()[patch] > 0)
        labels[moved] = target[patch[moved]]
    return labels


def _spine_chain(skeleton: Skeleton) -> set[int]:
    if SPINE_END not in skeleton.names:
        return set()
    chain, joint = set(), skeleton.names.index(SPINE_END)
    while joint >= 0:
        chain.add(joint)
        joint = int(skeleton.parents[joint])
    return chain


def _subtree(skeleton: Skeleton, root: int) -> list[int]:
    members = [root]
    for joint in range(skeleton.joint_count):
        if int(skeleton.parents[joint]) in members:
            members.append(joint)
    return members


def _exit(skeleton: Skeleton, root: int) -> tuple[Floats, Floats]:
    """Where the limb starting at bone `root` leaves the body, and the normal of the plane it leaves
    through: halfway between the limb's first bone and the way out from the spine bone it hangs
    from (an A-pose arm leaves sideways and down, a leg down and sideways)."""
    bone = root
    if skeleton.names[root].endswith(CLAVICLE_SUFFIX):
        children = [j for j in range(skeleton.joint_count) if int(skeleton.parents[j]) == root]
        bone = children[0] if children else root
    head = skeleton.heads[bone].astype(np.float64)
    along = _unit(skeleton.tails[bone].astype(np.float64) - head)
    parent = int(skeleton.parents[root])
    base, tip = skeleton.heads[parent].astype(np.float64), skeleton.tails[parent].astype(np.float64)
    axis = tip - base
    t = float(np.clip(np.dot(head - base, axis) / max(float(np.dot(axis, axis)), 1e-18), 0.0, 1.0))
    return head, _unit(along + _unit(head - (base + t * axis)))


def _unit(vector: Floats) -> Floats:
    length = float(np.linalg.norm(vector))
    return vector / length if length > 1e-12 else np.zeros(3)
