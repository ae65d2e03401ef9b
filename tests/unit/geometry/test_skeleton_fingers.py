"""Finger joint names and layout, and fingers in the export rest poses (they follow the hand)."""

from __future__ import annotations

import numpy as np

from assetcore.geometry.model import Model
from assetcore.geometry.rest_pose import bone_frames, orient_joints, t_pose
from assetcore.geometry.skeleton import FINGERS, finger_chain, finger_layout, is_end_joint, skeleton_kind
from services.rig.fingers import finger_bones, proportional_hand, with_fingers
from tests.support.a_pose_models import a_pose_model


def _fingered() -> Model:
    model = a_pose_model(clips=())
    assert model.skeleton is not None
    bones = {
        side: finger_bones(proportional_hand(model.skeleton, side, None), side) for side in ("Left", "Right")
    }
    model.skeleton = with_fingers(model.skeleton, bones)
    return model


def test_finger_chains_follow_mixamos_names_with_leaf_tips() -> None:
    assert finger_chain("Left", "Index") == (
        "LeftHandIndex1",
        "LeftHandIndex2",
        "LeftHandIndex3",
        "LeftHandIndex4",
    )
    layout = dict(finger_layout("Right"))
    assert len(layout) == 5 * 4
    assert layout["RightHandThumb1"] == "RightHand" and layout["RightHandPinky3"] == "RightHandPinky2"
    assert is_end_joint("LeftHandMiddle4") and not is_end_joint("LeftHandMiddle3")
    assert is_end_joint("HeadTop_End") and not is_end_joint("LeftHand")


def test_t_pose_carries_the_fingers_rigidly_with_the_hand() -> None:
    model = _fingered()
    before = model.skeleton
    after = t_pose(model).skeleton
    assert before is not None and after is not None and skeleton_kind(after) == "humanoid"
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        hand = before.names.index(f"{side}Hand")
        tip = before.names.index(f"{side}HandMiddle4")
        old = before.heads[tip] - before.heads[hand]
        new = after.heads[tip] - after.heads[hand]
        assert np.isclose(np.linalg.norm(new), np.linalg.norm(old), atol=1e-5)  # no stretch
        assert sign * new[0] > 0.9 * np.linalg.norm(new)  # out along the arm
        for finger in FINGERS:  # every chain keeps its shape
            joints = [before.names.index(name) for name in finger_chain(side, finger)]
            assert np.allclose(
                np.diff(after.heads[joints], axis=0) @ np.diff(after.heads[joints], axis=0).T,
                np.diff(before.heads[joints], axis=0) @ np.diff(before.heads[joints], axis=0).T,
                atol=1e-6,
            )


def test_oriented_finger_joints_point_y_along_their_bones() -> None:
    skeleton = orient_joints(_fingered()).skeleton
    assert skeleton is not None
    frames = bone_frames(skeleton)
    for name in ("LeftHandThumb1", "RightHandIndex2", "LeftHandPinky3"):
        joint = skeleton.names.index(name)
        along = skeleton.tails[joint] - skeleton.heads[joint]
        assert np.allclose(frames[joint][:, 1], along / np.linalg.norm(along), atol=1e-5)
