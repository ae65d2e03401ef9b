"""The export step's rest_pose and oriented_joints options and the engine presets that set them."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Model
from assetcore.geometry.posing import pose
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, OutputFile, StepError
from services.export.presets import PRESETS
from services.export.step import STEP
from tests.support.a_pose_models import a_pose_model
from tests.support.gltf_validator import assert_valid_glb
from tests.support.steps import run_step_function, step_request


def _export(model: Model, *, engine: str = "", **params: Any) -> dict[str, OutputFile]:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight"),
        export=job_pb2.ExportOptions(formats=["glb"], engine=engine),
    )
    data = write_glb(model)
    glb = InputFile("animated", "model/gltf-binary", data, hashlib.sha256(data).hexdigest())
    backend = STEP.backends["gltf"].create()
    output = run_step_function(backend, step_request("export", job, params or None, 1, {"animated": glb}))
    return {file.name: file for file in output.files}


def _joint(model: Model, engine: str, name: str) -> int:
    """A rig joint's index in an engine's exported skeleton (Godot renames humanoid joints)."""
    assert model.skeleton is not None
    return model.skeleton.names.index(PRESETS[engine].joint_name(name, humanoid=True))


def _left_arm_drop(model: Model, engine: str) -> float:
    """How far the left upper arm's end hangs below its head (0 in a T-pose)."""
    assert model.skeleton is not None
    arm = _joint(model, engine, "LeftArm")
    return float(model.skeleton.heads[arm, 1] - model.skeleton.tails[arm, 1])


@pytest.mark.parametrize(
    ("engine", "params", "t_posed", "oriented"),
    [
        ("", {}, False, False),
        ("unreal", {}, False, False),
        ("unity", {}, True, False),
        ("godot", {}, True, True),
        ("", {"rest_pose": "t_pose", "oriented_joints": True}, True, True),
        ("godot", {"rest_pose": "a_pose", "oriented_joints": False}, False, False),
    ],
)
def test_presets_and_options_pick_the_rest_pose(
    engine: str, params: dict[str, Any], t_posed: bool, oriented: bool
) -> None:
    files = _export(a_pose_model(clips=("walk",)), engine=engine, **params)
    data = files["glb"].data
    assert_valid_glb(data, strict=True)
    model = read_glb(data, rest_rotations=True)
    assert model.skeleton is not None
    assert (_left_arm_drop(model, engine) == pytest.approx(0.0, abs=1e-5)) is t_posed
    assert (model.skeleton.rest_rotations is not None) is oriented


def test_bad_rest_pose_values_are_refused_naming_the_option() -> None:
    with pytest.raises(StepError) as caught:
        _export(a_pose_model(clips=()), rest_pose="x_pose")
    assert "rest_pose" in caught.value.message


def test_a_t_posed_oriented_godot_export_moves_the_hands_as_the_a_pose_one() -> None:
    model = a_pose_model(clips=("walk",))
    plain = read_glb(_export(model, engine="")["glb"].data)
    godot = read_glb(_export(model, engine="godot")["glb"].data)  # identity rests again on reading
    assert plain.skeleton is not None and godot.skeleton is not None
    hand, hand_godot = _joint(plain, "", "LeftHand"), _joint(godot, "godot", "LeftHand")
    _, heads = pose(plain.skeleton, plain.clips[0].rotations, plain.clips[0].root_translations)
    _, heads_godot = pose(godot.skeleton, godot.clips[0].rotations, godot.clips[0].root_translations)
    np.testing.assert_allclose(heads_godot[:, hand_godot], heads[:, hand], atol=1e-5)
