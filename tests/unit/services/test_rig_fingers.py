"""Finger chains in the rig step: added where the hands can hold them (or always, or never), placed
across the palm, and weighted from the Hand's share only."""

from __future__ import annotations

import numpy as np
import pytest

from assetcore.geometry.model import Mesh, Model, Skeleton
from assetcore.geometry.skeleton import (
    FINGERS,
    HUMANOID_LAYOUT,
    SIDES,
    finger_chain,
    finger_layout,
    skeleton_kind,
)
from assetcore.worker.backend import StepError, StepOutput
from services.rig.fingers import add_fingers
from tests.support.creature_meshes import humanoid_mesh
from tests.support.hand_meshes import (
    FINGER_CAPSULES,
    FINGER_RADIUS,
    PALM,
    flat_handed_humanoid_mesh,
    hand_frame,
)
from tests.unit.services.test_rig import _models, _request, _rig, assert_skin_rules

ARM_DROP = 20.0
BODY_NAMES = [name for name, _ in HUMANOID_LAYOUT]
FINGERED_NAMES = BODY_NAMES + [name for side in SIDES for name, _ in finger_layout(side)]


def _rigged(mesh: Mesh, fingers: str) -> tuple[Model, StepOutput]:
    output = _rig(_request({"mesh": mesh, "lod1": mesh}, params={"fingers": fingers}))
    return _models(output)["rigged"], output


@pytest.fixture(scope="module")
def flat() -> dict[str, tuple[Model, StepOutput]]:
    mesh = flat_handed_humanoid_mesh(ARM_DROP)
    return {mode: _rigged(mesh, mode) for mode in ("auto", "never")}


def _skeleton(model: Model) -> Skeleton:
    assert model.skeleton is not None
    return model.skeleton


def _dense(model: Model) -> np.ndarray:  # type: ignore[type-arg]
    assert model.skin is not None
    dense = np.zeros((model.mesh.vertex_count, _skeleton(model).joint_count))
    rows = np.repeat(np.arange(model.mesh.vertex_count), model.skin.joints.shape[1])
    joints = model.skin.joints.astype(np.int64).ravel()
    np.add.at(dense, (rows, joints), model.skin.weights.astype(np.float64).ravel())  # unused slots add 0
    return dense


def _local(points: np.ndarray, side: str) -> np.ndarray:  # type: ignore[type-arg]
    """Points in the synthetic hand's frame (along, across to the thumb side, through), from its wrist."""
    frame = hand_frame(1.0 if side == "Left" else -1.0, ARM_DROP)
    shoulder = np.array([0.2 if side == "Left" else -0.2, 1.36, 0.0])
    return (points - (shoulder + 0.56 * frame[:, 0])) @ frame


# --- when a hand gets fingers -------------------------------------------------------------------


def test_auto_gives_mitten_hands_no_fingers_and_says_why() -> None:
    model, output = _rigged(humanoid_mesh(ARM_DROP), "auto")
    assert _skeleton(model).names == BODY_NAMES
    notes = [note for note in output.notes if "fingers" in note]
    assert len(notes) == 2 and all("wrist radii long (fingers need 5)" in note for note in notes), notes


def test_auto_gives_large_flat_hands_finger_chains(flat: dict[str, tuple[Model, StepOutput]]) -> None:
    model, output = flat["auto"]
    skeleton = _skeleton(model)
    assert skeleton.names == FINGERED_NAMES
    assert skeleton_kind(skeleton) == "humanoid"
    assert all(skeleton.parents[j] < j for j in range(1, skeleton.joint_count))
    for side in SIDES:
        for finger in FINGERS:
            first = skeleton.names.index(finger_chain(side, finger)[0])
            assert skeleton.names[skeleton.parents[first]] == f"{side}Hand"
    assert any("fingers on the left and right hand" in note for note in output.notes)


def test_always_and_never_override_the_hands_shape(flat: dict[str, tuple[Model, StepOutput]]) -> None:
    assert _skeleton(flat["never"][0]).names == BODY_NAMES
    model, _ = _rigged(humanoid_mesh(ARM_DROP), "always")
    assert _skeleton(model).names == FINGERED_NAMES
    assert_skin_rules(model)


def test_a_bad_fingers_value_is_refused_naming_the_option() -> None:
    with pytest.raises(StepError) as caught:
        _rig(_request({"mesh": humanoid_mesh(ARM_DROP)}, params={"fingers": "some"}))
    assert "fingers" in caught.value.message


# --- where the joints go ------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_fingers_lie_along_the_meshs_fingers_with_the_thumb_forward(
    flat: dict[str, tuple[Model, StepOutput]], side: str
) -> None:
    model, _ = flat["auto"]
    skeleton = _skeleton(model)
    heads = skeleton.heads.astype(np.float64)
    for finger, (across, reach) in FINGER_CAPSULES.items():
        local = _local(heads[[skeleton.names.index(name) for name in finger_chain(side, finger)]], side)
        assert np.all(np.abs(local[:, 1] - across) < 0.012), (finger, local)  # on its own finger's line
        assert np.all(np.abs(local[:, 2]) < 0.01), (finger, local)  # in the palm plane
        assert 0.07 < local[0, 0] < PALM[0] + 0.01  # knuckle near the end of the palm
        assert PALM[0] + reach - 0.03 < local[-1, 0] < PALM[0] + reach + 0.01  # tip near the fingertip
        assert np.all(np.diff(local[:, 0]) > 0)
    thumb = _local(heads[[skeleton.names.index(name) for name in finger_chain(side, "Thumb")]], side)
    assert thumb[0, 0] < 0.05 and np.all(thumb[:, 1] > 0.02)  # from the base of the palm, on its thumb side
    forward = [heads[skeleton.names.index(f"{side}Hand{finger}1"), 2] for finger in FINGERS[1:]]
    assert forward == sorted(forward, reverse=True)  # index in front, pinky behind: thumb side is +Z


# --- weights ------------------------------------------------------------------------------------


def test_finger_weights_meet_the_rig_rules_on_every_lod(flat: dict[str, tuple[Model, StepOutput]]) -> None:
    for model in _models(flat["auto"][1]).values():
        assert _skeleton(model).names == FINGERED_NAMES
        assert_skin_rules(model)


@pytest.mark.parametrize("side", SIDES)
def test_each_meshs_finger_follows_its_own_chain(
    flat: dict[str, tuple[Model, StepOutput]], side: str
) -> None:
    model, _ = flat["auto"]
    skeleton = _skeleton(model)
    dense = _dense(model)
    local = _local(model.mesh.positions.astype(np.float64), side)
    for finger, (across, reach) in FINGER_CAPSULES.items():
        chain = [skeleton.names.index(name) for name in finger_chain(side, finger)[:3]]
        on_it = (
            (local[:, 0] > PALM[0] + 0.015)
            & (local[:, 0] < PALM[0] + reach)
            & (np.abs(local[:, 1] - across) < 0.7 * FINGER_RADIUS)  # its back and its front,
            & (np.abs(local[:, 2]) < 1.2 * FINGER_RADIUS)  # not the sides that touch its neighbours
        )
        assert on_it.sum() > 20
        assert (dense[on_it][:, chain].sum(axis=1) > 0.9).all(), finger
        # at most two phalanges, and neighbours: never the first and the third together
        assert ((dense[on_it][:, chain] > 0).sum(axis=1) <= 2).all()
        assert not ((dense[on_it][:, chain[0]] > 0) & (dense[on_it][:, chain[2]] > 0)).any()
    wrist_side = (local[:, 0] > 0.0) & (local[:, 0] < 0.02) & (np.abs(local[:, 1]) < 0.05)
    fingers = [
        j for j, name in enumerate(skeleton.names) if name.startswith(f"{side}Hand") and name != f"{side}Hand"
    ]
    assert wrist_side.sum() > 10 and not dense[wrist_side][:, fingers].any()


def test_the_finger_pass_only_splits_the_hands_weight(flat: dict[str, tuple[Model, StepOutput]]) -> None:
    """Fed the finger-less rig's weights, the pass leaves every other joint's weight as it was."""
    model, _ = flat["never"]
    skeleton, before = _skeleton(model), _dense(model)
    notes: list[str] = []
    fingered, after = add_fingers(model.mesh.positions.astype(np.float64), before, skeleton, "auto", notes)
    assert fingered.names == FINGERED_NAMES
    count = skeleton.joint_count
    hands = [skeleton.names.index(f"{side}Hand") for side in SIDES]
    others = [j for j in range(count) if j not in hands]
    assert np.array_equal(after[:, others], before[:, others])
    for side, hand in zip(SIDES, hands, strict=True):
        own = [fingered.names.index(name) for finger in FINGERS for name in finger_chain(side, finger)]
        assert np.allclose(after[:, [hand, *own]].sum(axis=1), before[:, hand])
    assert np.allclose(after.sum(axis=1), 1.0)
    assert (after[:, count:] > 0.5).sum() > 100  # the fingers do carry the finger surface
