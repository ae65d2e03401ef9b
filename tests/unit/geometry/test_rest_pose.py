"""T-pose rest and oriented joints (assetcore.geometry.rest_pose): same motion, new rest."""

from __future__ import annotations

import numpy as np
import pytest

from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Model
from assetcore.geometry.posing import blend, posed_vertices, rest_world_rotations, skin_points
from assetcore.geometry.rest_pose import orient_joints, t_pose, t_pose_maps
from tests.support.a_pose_models import a_pose_model
from tests.support.gltf_validator import assert_valid_glb
from tests.support.synthetic_models import creature_model

EXACT = 1e-5  # metres: float32 round-off of ~1 m coordinates through a few matrix products


def _joint(model: Model, name: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    assert model.skeleton is not None
    j = model.skeleton.names.index(name)
    return model.skeleton.heads[j].astype(np.float64), model.skeleton.tails[j].astype(np.float64)


def test_t_pose_puts_the_arms_out_straight_and_the_legs_down_on_the_same_floor() -> None:
    model = a_pose_model()
    posed = t_pose(model)
    for sign, side in ((1.0, "Left"), (-1.0, "Right")):
        for bone in ("Arm", "ForeArm", "Hand"):
            head, tail = _joint(posed, side + bone)
            direction = (tail - head) / np.linalg.norm(tail - head)
            np.testing.assert_allclose(direction, (sign, 0.0, 0.0), atol=1e-6)
        for bone in ("UpLeg", "Leg"):
            head, tail = _joint(posed, side + bone)
            assert abs(tail[0] - head[0]) < 1e-5 and tail[1] < head[1]
        _, a_pose_arm_tail = _joint(model, f"{side}Arm")
        assert a_pose_arm_tail[1] < _joint(model, f"{side}Arm")[0][1] - 0.1  # the fixture's arms hang
    assert posed.mesh.positions[:, 1].min() == pytest.approx(model.mesh.positions[:, 1].min(), abs=EXACT)
    np.testing.assert_allclose(np.linalg.norm(posed.mesh.normals, axis=1), 1.0, atol=1e-5)  # type: ignore[arg-type]


def test_t_posed_clips_move_the_skin_as_before_within_the_blend_bound() -> None:
    """Rigidly bound vertices come back exactly. A vertex blending joints j, k lands after the rest
    change at sum_k w_k A_k v, and any rigid frame transforms then err by at most
    sum_jk w_j w_k |A_k v - A_j v|: the spread of where the rest change alone takes it."""
    model = a_pose_model()
    posed = t_pose(model)
    assert model.skeleton is not None and model.skin is not None
    maps = t_pose_maps(model.skeleton)
    weights, joints = model.skin.weights.astype(np.float64), model.skin.joints.astype(np.int64)
    moved = np.einsum("vkab,vb->vka", maps[joints][..., :3], model.mesh.positions) + maps[joints][..., 3]
    spread = np.linalg.norm(moved[:, :, None] - moved[:, None, :], axis=-1)
    bound = np.einsum("vj,vk,vjk->v", weights, weights, spread)
    rigid = weights.max(axis=1) > 1.0 - 1e-6
    assert rigid.any() and bound.max() > 0.01  # both kinds of vertex are tested
    for before, after in zip(model.clips, posed.clips, strict=True):
        error = np.linalg.norm(posed_vertices(model, before) - posed_vertices(posed, after), axis=-1)
        assert error[:, rigid].max() < EXACT
        assert (error <= bound[None] + EXACT).all()


def test_oriented_joints_point_y_along_each_bone_and_change_no_frame() -> None:
    model = t_pose(a_pose_model())
    oriented = orient_joints(model)
    assert oriented.skeleton is not None and model.skeleton is not None
    frames = rest_world_rotations(oriented.skeleton)
    bones = oriented.skeleton.tails - oriented.skeleton.heads
    hips = oriented.skeleton.names.index("Hips")  # the fixture's hips bone has no length: it aims at Spine
    bones[hips] = (
        oriented.skeleton.heads[oriented.skeleton.names.index("Spine")] - oriented.skeleton.heads[hips]
    )
    np.testing.assert_allclose(
        frames[:, :, 1], bones / np.linalg.norm(bones, axis=1, keepdims=True), atol=1e-5
    )
    np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-5)
    for side in ("Left", "Right"):  # arms roll with +Z to the front and bend about X
        arm = oriented.skeleton.names.index(f"{side}ForeArm")
        np.testing.assert_allclose(frames[arm, :, 2], (0.0, 0.0, 1.0), atol=1e-5)
    for before, after in zip(model.clips, oriented.clips, strict=True):
        error = np.linalg.norm(posed_vertices(model, before) - posed_vertices(oriented, after), axis=-1)
        assert error.max() < EXACT
    with pytest.raises(ValueError, match="identity-rest"):
        t_pose(oriented)


def test_quadrupeds_keep_their_rest_pose() -> None:
    model = creature_model("quadruped")
    assert t_pose(model) is model


def test_rest_rotations_round_trip_through_a_valid_glb() -> None:
    model = orient_joints(t_pose(a_pose_model()))
    data = write_glb(model)
    assert_valid_glb(data, strict=True)
    back = read_glb(data, rest_rotations=True)
    assert back.skeleton is not None and model.skeleton is not None
    assert model.skeleton.rest_rotations is not None and back.skeleton.rest_rotations is not None
    same = np.abs(np.sum(back.skeleton.rest_rotations * model.skeleton.rest_rotations, axis=-1))
    np.testing.assert_allclose(same, 1.0, atol=1e-6)
    np.testing.assert_allclose(back.skeleton.heads, model.skeleton.heads, atol=EXACT)
    for clip, original in zip(back.clips, model.clips, strict=True):
        np.testing.assert_allclose(clip.rotations, original.rotations, atol=1e-6)
        np.testing.assert_allclose(clip.root_translations, original.root_translations, atol=1e-6)
    plain = read_glb(data)  # the default: identity rests, clips re-expressed, the same motion
    assert plain.skeleton is not None and plain.skeleton.rest_rotations is None
    for clip, original in zip(plain.clips, model.clips, strict=True):
        error = np.linalg.norm(posed_vertices(plain, clip) - posed_vertices(model, original), axis=-1)
        assert error.max() < EXACT
    assert plain.skin is not None
    rest = skin_points(
        plain.mesh.positions, blend(plain.skin, np.tile(np.eye(3, 4), (plain.skeleton.joint_count, 1, 1)))
    )
    np.testing.assert_allclose(rest, model.mesh.positions, atol=EXACT)
