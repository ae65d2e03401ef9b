"""A rig with fingers through the export step: engine bone maps with the optional finger bones,
Godot's profile names, the "mixamorig:" prefix, the T-pose, valid GLBs and (through Blender) FBX."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import SIDES
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, OutputFile
from services.export.bone_maps import GODOT_HUMANOID, UNITY_HUMANOID, checked_bone_map
from services.export.step import STEP
from tests.support.gltf_validator import assert_valid_glb
from tests.support.hand_meshes import flat_handed_humanoid_mesh
from tests.support.steps import no_progress, run_step_function, step_request
from tests.unit.services.test_export_bone_maps import fbx_facts
from tests.unit.services.test_rig import _request, _rig

needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")
BODY_BONES = 22  # what a finger-less humanoid maps (test_export_bone_maps)
FINGER_BONES = 30  # five fingers of three bones, on two hands


@pytest.fixture(scope="module")
def rigged() -> bytes:
    output = _rig(_request({"mesh": flat_handed_humanoid_mesh()}, params={"fingers": "auto"}))
    (data,) = [file.data for file in output.files if file.name == "rigged"]
    return data


def _skeleton(data: bytes) -> Skeleton:
    skeleton = read_glb(data).skeleton
    assert skeleton is not None
    return skeleton


def _export(
    rigged: bytes, *, engine: str, formats: tuple[str, ...] = (), **params: Any
) -> dict[str, OutputFile]:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight"),
        export=job_pb2.ExportOptions(formats=list(formats), engine=engine),
    )
    source = InputFile("rigged", "model/gltf-binary", rigged, hashlib.sha256(rigged).hexdigest())
    request = step_request("export", job, params or None, 1, {"rigged": source})
    backend = STEP.backends["gltf"].create()
    backend.load()
    return {file.name: file for file in run_step_function(backend, request, no_progress).files}


def _bones(files: dict[str, OutputFile], key: str) -> dict[str, str]:
    bones: dict[str, str] = json.loads(files["manifest"].data)["bone_maps"][key]["bones"]
    return bones


def test_both_profiles_map_every_finger_bone_under_its_hand(rigged: bytes) -> None:
    skeleton = _skeleton(rigged)
    unity = checked_bone_map(skeleton, UNITY_HUMANOID)
    godot = checked_bone_map(skeleton, GODOT_HUMANOID)
    assert len(unity) == len(godot) == BODY_BONES + FINGER_BONES  # the finger tips' leaves map to nothing
    for side in SIDES:
        assert unity[f"{side} Thumb Proximal"] == f"{side}HandThumb1"
        assert unity[f"{side} Index Intermediate"] == f"{side}HandIndex2"
        assert unity[f"{side} Little Distal"] == f"{side}HandPinky3"
        assert godot[f"{side}ThumbMetacarpal"] == f"{side}HandThumb1"
        assert godot[f"{side}ThumbDistal"] == f"{side}HandThumb3"
        assert godot[f"{side}LittleIntermediate"] == f"{side}HandPinky2"
        assert UNITY_HUMANOID.parents[f"{side} Middle Proximal"] == f"{side}Hand"
        assert GODOT_HUMANOID.parents[f"{side}RingDistal"] == f"{side}RingIntermediate"


def test_unity_export_t_poses_the_fingers_with_the_hand_and_stays_valid(rigged: bytes) -> None:
    files = _export(rigged, engine="unity")
    assert_valid_glb(files["glb"].data)
    skeleton = _skeleton(files["glb"].data)
    bones = _bones(files, "unity_humanoid")
    assert bones["Left Ring Distal"] == "LeftHandRing3" and len(bones) == BODY_BONES + FINGER_BONES
    heads = skeleton.heads.astype(np.float64)
    for side, sign in zip(SIDES, (1.0, -1.0), strict=True):
        wrist = heads[skeleton.names.index(f"{side}Hand")]
        tip = heads[skeleton.names.index(f"{side}HandMiddle4")]
        assert sign * (tip - wrist)[0] > 0.15 and abs((tip - wrist)[1]) < 0.02  # straight out along X


@pytest.mark.parametrize("prefix", ["", "mixamorig:"])
def test_godot_export_names_the_fingers_for_its_profile_or_mixamos(rigged: bytes, prefix: str) -> None:
    files = _export(rigged, engine="godot", bone_prefix=prefix)
    assert_valid_glb(files["glb"].data)
    names = _skeleton(files["glb"].data).names
    bones = _bones(files, "godot_humanoid")
    expected = "LeftThumbMetacarpal" if not prefix else "mixamorig:LeftHandThumb1"
    assert bones["LeftThumbMetacarpal"] == expected and expected in names
    assert len(bones) == BODY_BONES + FINGER_BONES


@needs_blender
@pytest.mark.blender
def test_unity_fbx_carries_the_finger_bones(rigged: bytes) -> None:
    files = _export(rigged, engine="unity", formats=("glb", "fbx"), bone_prefix="mixamorig:")
    facts = shared_blender().call(fbx_facts, files["fbx"].data)
    bones = _bones(files, "unity_humanoid")
    assert set(bones.values()) <= set(facts["bones"])
    assert {f"mixamorig:{side}HandPinky4" for side in SIDES} <= set(facts["bones"])
