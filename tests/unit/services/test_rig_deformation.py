"""Skinning that deforms cleanly: limbs blend only neighbouring bones, and the skinned mesh's edges
stay within 2x their rest length over a representative set of clips (bench/quality_metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from assetcore.geometry.model import Model
from assetcore.geometry.skeleton import joint_index
from bench.quality_metrics.deformation import unique_edges, worst_stretch
from bench.quality_metrics.skinning import skinned_positions
from services.anim.body import measure_body
from services.anim.clips import build_clips
from services.anim.quaternions import rotate
from services.rig.fitting import fit_skeleton
from services.rig.heat import heat_weights
from services.rig.segments import TORSO, body_segments
from services.rig.weights import MIN_WEIGHT, bone_segments, top_influences, weld_surface
from tests.support.creature_meshes import inflated_humanoid_mesh

CLIPS = (
    *("idle", "idle_alert", "walk", "jump", "jump_loop", "attack", "wave", "attack_thrust", "block", "hit"),
    *("turn_left", "turn_right", "crouch", "death"),
)
MAX_STRETCH = 2.0


@pytest.fixture(scope="module")
def humanoid() -> Model:
    mesh = inflated_humanoid_mesh(64)
    skeleton, grid = fit_skeleton(mesh, "humanoid", 96, [])
    surface = weld_surface(mesh)
    skin = top_influences(heat_weights(surface, skeleton, grid)[surface.index])
    return Model(mesh=mesh, skeleton=skeleton, skin=skin)


def test_a_limb_vertex_follows_at_most_two_neighbouring_bones_of_its_limb(humanoid: Model) -> None:
    skeleton, skin = humanoid.skeleton, humanoid.skin
    assert skeleton is not None and skin is not None
    joints, _, _ = bone_segments(skeleton)
    segments = body_segments(skeleton, joints)
    segment_of = {joint: int(segments.bone_segment[i]) for i, joint in enumerate(joints)}
    for row_joints, row_weights in zip(skin.joints, skin.weights, strict=True):
        held = [int(j) for j, w in zip(row_joints, row_weights, strict=True) if w > MIN_WEIGHT]
        for segment in {segment_of[j] for j in held} - {TORSO}:
            limb = sorted(j for j in held if segment_of[j] == segment)  # parents precede children
            assert len(limb) <= 2, [skeleton.names[j] for j in limb]
            if len(limb) == 2:
                assert int(skeleton.parents[limb[1]]) == limb[0], [skeleton.names[j] for j in limb]


def test_worst_edge_stretch_stays_within_twice_the_rest_length(humanoid: Model) -> None:
    skeleton, skin = humanoid.skeleton, humanoid.skin
    assert skeleton is not None and skin is not None
    positions = humanoid.mesh.positions
    edges = unique_edges(humanoid.mesh.faces)
    clips = build_clips(measure_body(humanoid, "humanoid"), CLIPS, 30.0, False)
    stretch = {
        clip.name: worst_stretch(positions, skinned_positions(positions, skeleton, skin, clip), edges)
        for clip in clips
    }
    assert max(stretch.values()) <= MAX_STRETCH, stretch
    assert np.isfinite(list(stretch.values())).all()


@pytest.mark.parametrize("name", ["turn_left", "turn_right"])
def test_a_turn_turns_the_thighs_with_the_pelvis(humanoid: Model, name: str) -> None:
    """Two-bone IK alone left the thighs facing forward under a pelvis turned 90 degrees, tearing the
    skin between them: at no frame may a knee face more than 40 degrees from its pelvis."""
    skeleton = humanoid.skeleton
    assert skeleton is not None
    (clip,) = build_clips(measure_body(humanoid, "humanoid"), (name,), 30.0, False)
    forward = np.array([0.0, 0.0, 1.0])
    for side in ("Left", "Right"):
        local = clip.rotations[:, joint_index(skeleton, f"{side}UpLeg")].astype(np.float64)
        facing = rotate(local, forward)  # the thigh's front in the pelvis's frame
        degrees = np.degrees(np.arctan2(np.abs(facing[:, 0]), facing[:, 2]))
        assert degrees.max() <= 40.0, (side, float(degrees.max()))
