"""Skin weights constrained by body segmentation: the torso follows the spine chain, no vertex
follows both an arm and a leg, on synthetic capsule creatures."""

from __future__ import annotations

import numpy as np
import pytest

from assetcore.geometry.model import Mesh, Skeleton
from bench.quality_metrics.weights import torso_spine_share
from services.rig.chain import chain_weights
from services.rig.fitting import fit_skeleton
from services.rig.heat import heat_weights
from services.rig.segments import TORSO, body_segments, held_segments
from services.rig.weights import bone_segments, top_influences, weld_surface
from tests.support.creature_meshes import humanoid_mesh, inflated_humanoid_mesh, quadruped_mesh

SPINE = {"Hips", "Spine", "Spine1", "Spine2", "Neck", "Head"}


def _weights(mesh: Mesh, kind: str) -> tuple[np.ndarray, np.ndarray, Skeleton]:
    skeleton, grid = fit_skeleton(mesh, "humanoid" if kind == "humanoid" else "quadruped", 96, [])
    surface = weld_surface(mesh)
    return surface.positions, heat_weights(surface, skeleton, grid), skeleton


def _columns(skeleton: Skeleton, *parts: str) -> list[int]:
    return [i for i, name in enumerate(skeleton.names) if any(part in name for part in parts)]


def _head(skeleton: Skeleton, name: str) -> np.ndarray:
    return skeleton.heads[skeleton.names.index(name)].astype(np.float64)


@pytest.mark.parametrize(
    "mesh", [inflated_humanoid_mesh(64), humanoid_mesh(35.0)], ids=["inflated", "a_pose"]
)
def test_humanoid_torso_is_on_the_spine_and_no_vertex_on_an_arm_and_a_leg(mesh: Mesh) -> None:
    points, dense, skeleton = _weights(mesh, "humanoid")
    arms = _columns(skeleton, "Shoulder", "Arm", "Hand")
    legs = _columns(skeleton, "UpLeg", "Leg", "Foot", "ToeBase")
    assert not ((dense[:, arms] > 0.1).any(axis=1) & (dense[:, legs] > 0.1).any(axis=1)).any()
    # the torso: between the hips joint and the clavicles, nearer the spine than the shoulder joints
    hips, shoulder = _head(skeleton, "Hips"), _head(skeleton, "LeftArm")
    top = min(_head(skeleton, "LeftShoulder")[1], _head(skeleton, "RightShoulder")[1])
    torso = (
        (points[:, 1] > hips[1])
        & (points[:, 1] < top)
        & (np.abs(points[:, 0] - hips[0]) < 0.75 * abs(shoulder[0] - hips[0]))
    )
    assert torso.sum() > 10
    dominant = np.array(skeleton.names)[np.argmax(dense, axis=1)]
    assert np.isin(dominant[torso], list(SPINE)).mean() >= 0.95


def test_weights_are_normalised_and_blend_across_the_hip() -> None:
    """Each row sums to one; along the thigh the leg's share rises from the hip gradually, not in a
    step: some vertex between pelvis and knee carries both spine-chain and UpLeg weight."""
    points, dense, skeleton = _weights(humanoid_mesh(20.0), "humanoid")
    assert np.allclose(dense.sum(axis=1), 1.0, atol=1e-6)
    spine, up_leg = _columns(skeleton, *SPINE), skeleton.names.index("LeftUpLeg")
    blended = (dense[:, spine].sum(axis=1) > 0.2) & (dense[:, up_leg] > 0.2) & (points[:, 0] > 0)
    assert blended.any()


def test_quadruped_torso_is_on_the_spine_and_no_vertex_on_a_front_and_a_hind_leg() -> None:
    points, dense, skeleton = _weights(quadruped_mesh(), "quadruped")
    front, hind = _columns(skeleton, "FrontLeft", "FrontRight"), _columns(skeleton, "HindLeft", "HindRight")
    assert front and hind
    assert not ((dense[:, front] > 0.1).any(axis=1) & (dense[:, hind] > 0.1).any(axis=1)).any()
    assert torso_spine_share(points, skeleton, top_influences(dense)) >= 0.95  # the bench's metric


def test_chain_weights_follow_the_two_nearest_bones_continuously() -> None:
    """A straight three-bone chain: a point at a bone's middle is that bone's alone, one at a joint
    is half each side's, and the weights change little between close points."""
    heads = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 2.0, 0.0]])
    tails = heads + np.array([0.0, 1.0, 0.0])
    points = np.array([[0.3, 1.5, 0.0], [0.3, 1.0, 0.0], [0.3, 1.001, 0.0]])
    weights = chain_weights(points, heads, tails)
    assert np.allclose(weights[0], [0.0, 1.0, 0.0])
    assert np.allclose(weights[1], [0.5, 0.5, 0.0], atol=0.01)
    assert np.abs(weights[2] - weights[1]).max() < 0.01
    assert np.allclose(weights.sum(axis=1), 1.0)


def test_segments_split_the_skeleton_into_torso_and_limbs() -> None:
    skeleton, _ = fit_skeleton(humanoid_mesh(), "humanoid", 96, [])
    joints, _, _ = bone_segments(skeleton)
    segments = body_segments(skeleton, joints)
    names = [skeleton.names[j] for j in joints]
    by_segment = {
        int(s): {names[c] for c in np.flatnonzero(segments.bone_segment == s)} for s in range(segments.count)
    }
    assert by_segment[TORSO] == SPINE
    assert {"LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand"} in by_segment.values()
    assert {"RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"} in by_segment.values()
    assert segments.count == 5
    arm = next(s for s, members in by_segment.items() if "LeftArm" in members)
    assert np.allclose(
        segments.joint[arm], _head(skeleton, "LeftArm")
    )  # the arm leaves at the shoulder joint


def test_a_held_patch_cut_off_from_its_segment_joins_the_one_holding_it() -> None:
    """A strip of quads: torso | arm | staff. The staff's far end lies nearer the spine than the hand
    (labelled torso) and far from every bone, and touches the torso only through the arm: it moves
    with the arm. A cut-off patch near its bones (body, not a held item) keeps its label."""
    columns = 12
    top = np.arange(columns + 1)
    bottom = top + columns + 1
    faces = np.concatenate(
        [
            np.stack([top[:-1], bottom[:-1], bottom[1:]], axis=1),
            np.stack([top[:-1], bottom[1:], top[1:]], axis=1),
        ]
    )
    per_column = np.array([TORSO] * 6 + [1] * 3 + [TORSO] * 4)  # columns 9.. are the staff
    labels = np.concatenate([per_column, per_column])
    far = np.concatenate([np.arange(columns + 1) >= 9] * 2)
    merged = held_segments(labels, faces, far)
    for row in (merged[: columns + 1], merged[columns + 1 :]):
        assert (row[:6] == TORSO).all() and (row[6:] == 1).all()
    assert (held_segments(merged, faces, far) == merged).all()  # already contiguous: unchanged
    assert (held_segments(labels, faces, np.zeros_like(far)) == labels).all()  # body, not held
