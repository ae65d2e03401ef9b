"""Engine humanoid bone maps (Unity Humanoid, Godot SkeletonProfileHumanoid), their hierarchy check,
the manifest's maps and the "mixamorig:" naming option, in GLB and (through Blender) FBX."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Model, Skeleton
from assetcore.geometry.skeleton import HUMANOID_LAYOUT, build_skeleton
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, OutputFile, StepError, StepRequest
from services.export.bone_maps import (
    GODOT_HUMANOID,
    PROFILES,
    UNITY_HUMANOID,
    BoneMapError,
    bone_map,
    bone_map_problems,
    checked_bone_map,
)
from services.export.step import STEP
from tests.support.steps import no_progress, run_step_function, step_request
from tests.support.synthetic_models import creature_model, creature_skeleton

needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")

UNITY_REQUIRED = {
    "Hips", "Spine", "Head",
    *(f"{side}{bone}" for side in ("Left", "Right")
      for bone in ("UpperLeg", "LowerLeg", "Foot", "UpperArm", "LowerArm", "Hand")),
}  # fmt: skip
MIXAMO_NAMES = {
    "Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End",
    *(f"{side}{joint}" for side in ("Left", "Right")
      for joint in ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot", "ToeBase", "Toe_End")),
}  # fmt: skip


def _request(model: Model, *, engine: str, formats: tuple[str, ...] = (), **params: Any) -> StepRequest:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight in red armor with a round shield"),
        export=job_pb2.ExportOptions(formats=list(formats), engine=engine),
    )
    data = write_glb(model)
    glb = InputFile("animated", "model/gltf-binary", data, hashlib.sha256(data).hexdigest())
    return step_request("export", job, params or None, 1, {"animated": glb})


def _export(model: Model, *, engine: str, **params: Any) -> dict[str, OutputFile]:
    backend = STEP.backends["gltf"].create()
    backend.load()
    output = run_step_function(backend, _request(model, engine=engine, **params), no_progress)
    return {file.name: file for file in output.files}


def _bone_maps(files: dict[str, OutputFile]) -> dict[str, Any]:
    maps: dict[str, Any] = json.loads(files["manifest"].data)["bone_maps"]
    return maps


def _reparented(skeleton: Skeleton, joint: str, parent: str) -> Skeleton:
    parents = skeleton.parents.copy()
    parents[skeleton.names.index(joint)] = skeleton.names.index(parent)
    return Skeleton(names=skeleton.names, parents=parents, heads=skeleton.heads, tails=skeleton.tails)


def _without(skeleton: Skeleton, joint: str) -> Skeleton:
    """The skeleton less a leaf joint."""
    drop = skeleton.names.index(joint)
    keep = [j for j in range(skeleton.joint_count) if j != drop]
    parents = np.array([p - (p > drop) if p >= 0 else -1 for p in skeleton.parents[keep]], np.int32)
    return Skeleton(
        names=[skeleton.names[j] for j in keep],
        parents=parents,
        heads=skeleton.heads[keep],
        tails=skeleton.tails[keep],
    )


@pytest.mark.parametrize("profile", [UNITY_HUMANOID, GODOT_HUMANOID], ids=lambda p: p.key)
def test_our_humanoid_maps_every_required_bone_in_a_consistent_hierarchy(profile: Any) -> None:
    skeleton = creature_skeleton("humanoid")
    mapped = checked_bone_map(skeleton, profile)
    assert profile.required <= set(mapped)
    assert mapped["LeftUpperArm"] == "LeftArm" and mapped["LeftLowerLeg"] == "LeftLeg"
    assert mapped["Chest"] == "Spine1" and mapped["RightToes"] == "RightToeBase"
    assert "Root" not in mapped  # Godot's optional root: our root is Hips
    assert len(mapped) == 22  # all body bones but Root: the *_End leaves map to nothing


@pytest.mark.parametrize("profile", [UNITY_HUMANOID, GODOT_HUMANOID], ids=lambda p: p.key)
def test_the_rig_steps_humanoid_layout_maps(profile: Any) -> None:
    """The layout services/rig fits (positions do not matter to the map)."""
    names = [name for name, _ in HUMANOID_LAYOUT]
    points = {name: np.zeros(3) for name in names}
    skeleton = build_skeleton(HUMANOID_LAYOUT, points, points)
    assert profile.required <= set(checked_bone_map(skeleton, profile))


def test_profiles_hold_the_engines_required_sets() -> None:
    assert UNITY_HUMANOID.required == UNITY_REQUIRED
    assert GODOT_HUMANOID.required == UNITY_REQUIRED | {"LeftShoulder", "RightShoulder"}
    assert set(PROFILES) == {"unity_humanoid", "godot_humanoid"}
    # optional bones are skipped when walking up the profile
    assert UNITY_HUMANOID.mapped_parent("Neck", {"Hips": "a", "Spine": "b"}) == "Spine"


def test_a_missing_hand_fails_naming_the_bone() -> None:
    skeleton = _without(creature_skeleton("humanoid"), "LeftHand")
    with pytest.raises(BoneMapError) as caught:
        checked_bone_map(skeleton, UNITY_HUMANOID)
    assert caught.value.problems == ["required bone LeftHand is not mapped"]
    assert "Unity Humanoid avatar" in str(caught.value)


def test_a_wrong_parent_fails_naming_both_bones() -> None:
    skeleton = _reparented(creature_skeleton("humanoid"), "LeftForeArm", "Spine2")
    problems = bone_map_problems(skeleton, GODOT_HUMANOID, bone_map(skeleton, GODOT_HUMANOID))
    assert problems == [
        "LeftLowerArm (joint 'LeftForeArm') sits under UpperChest, the profile puts it under LeftUpperArm"
    ]


def test_the_unity_manifest_maps_the_exported_joints() -> None:
    files = _export(creature_model("humanoid"), engine="unity")
    maps = _bone_maps(files)
    assert set(maps) == {"unity_humanoid"}
    assert maps["unity_humanoid"]["docs"].startswith("https://docs.unity3d.com/")
    bones = maps["unity_humanoid"]["bones"]
    assert set(bones) >= UNITY_REQUIRED
    exported = read_glb(files["glb"].data).skeleton
    assert exported is not None and set(bones.values()) <= set(exported.names)
    assert checked_bone_map(exported, UNITY_HUMANOID) == bones


def test_godot_maps_its_renamed_joints_and_other_presets_pick_their_profiles() -> None:
    model = creature_model("humanoid")
    godot = _bone_maps(_export(model, engine="godot"))["godot_humanoid"]["bones"]
    assert godot["LeftUpperArm"] == "LeftUpperArm" and godot["Chest"] == "Chest"  # already profile names
    assert set(_bone_maps(_export(model, engine=""))) == {"unity_humanoid", "godot_humanoid"}
    assert _bone_maps(_export(model, engine="unreal")) == {}
    assert _bone_maps(_export(creature_model("quadruped"), engine="unity")) == {}


def test_a_humanoid_that_cannot_map_is_refused() -> None:
    model = creature_model("humanoid", clips=())
    assert model.skeleton is not None
    model.skeleton = _reparented(model.skeleton, "LeftLeg", "Hips")
    with pytest.raises(StepError) as caught:
        _export(model, engine="unity")
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert "input 'animated'" in caught.value.message and "LeftLowerLeg" in caught.value.message


@pytest.mark.parametrize("engine", ["unity", "godot"])
def test_the_mixamorig_option_renames_the_glb_joints_and_the_maps_follow(engine: str) -> None:
    files = _export(creature_model("humanoid"), engine=engine, bone_prefix="mixamorig:")
    skeleton = read_glb(files["glb"].data).skeleton
    assert skeleton is not None
    assert {name.removeprefix("mixamorig:") for name in skeleton.names} == MIXAMO_NAMES
    assert all(name.startswith("mixamorig:") for name in skeleton.names)
    (maps,) = _bone_maps(files).values()
    assert maps["bones"]["LeftUpperLeg"] == "mixamorig:LeftUpLeg"
    assert maps["bones"]["Hips"] == "mixamorig:Hips"


def test_the_bone_prefix_option_is_validated() -> None:
    with pytest.raises(StepError) as caught:
        _export(creature_model("humanoid"), engine="unity", bone_prefix="rig:")
    assert "bone_prefix" in caught.value.message


def fbx_facts(fbx: bytes, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Run in the Blender child: the FBX's declared axes and unit (GlobalSettings, read with Blender's
    own FBX parser), and the armature Blender's importer builds from it (bones, world-space rest heads)."""
    import bpy
    from io_scene_fbx import parse_fbx  # type: ignore[import-not-found]  # Blender's bundled add-on

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asset.fbx"
        path.write_bytes(fbx)
        root, _version = parse_fbx.parse(str(path))
        bpy.ops.import_scene.fbx(filepath=str(path))
    settings = next(elem for elem in root.elems if elem.id == b"GlobalSettings")
    properties = next(elem for elem in settings.elems if elem.id == b"Properties70")
    declared = {prop.props[0].decode(): prop.props[4] for prop in properties.elems if len(prop.props) > 4}
    (armature,) = [ob for ob in bpy.data.objects if ob.type == "ARMATURE"]
    return {
        "declared": {key: declared[key] for key in ("UpAxis", "UpAxisSign", "FrontAxis", "FrontAxisSign",
                                                    "CoordAxis", "CoordAxisSign", "UnitScaleFactor")},
        "bones": [bone.name for bone in armature.data.bones],
        "heads": {
            bone.name: list(armature.matrix_world @ bone.head_local) for bone in armature.data.bones
        },
    }  # fmt: skip


@needs_blender
@pytest.mark.blender
@pytest.mark.parametrize("prefix", ["", "mixamorig:"])
def test_unity_fbx_has_the_mapped_bones_with_the_promised_axes_and_scale(prefix: str) -> None:
    model = creature_model("humanoid", clips=("walk",))
    files = _export(model, engine="unity", formats=("glb", "fbx"), bone_prefix=prefix)
    bones = _bone_maps(files)["unity_humanoid"]["bones"]
    facts = shared_blender().call(fbx_facts, files["fbx"].data)
    # FBX_SCALE_ALL: one file unit is 100 cm (UnitScaleFactor counts centimetres), so Unity's "Convert
    # Units" imports metres at scale 1; -Z forward, Y up is FBX's Y-up, Z-front, X-right system
    assert facts["declared"] == {
        "UpAxis": 1, "UpAxisSign": 1, "FrontAxis": 2, "FrontAxisSign": 1,
        "CoordAxis": 0, "CoordAxisSign": 1, "UnitScaleFactor": 100.0,
    }  # fmt: skip
    exported = read_glb(files["glb"].data).skeleton
    assert exported is not None
    assert sorted(facts["bones"]) == sorted(exported.names), "the GLB's joints, and no added leaf bones"
    assert set(bones.values()) <= set(facts["bones"])
    assert all(name.startswith(prefix) for name in facts["bones"])
    # Blender (Z up, faces -Y) reads it back at metre scale: the subject's left (+X in glTF) stays +X,
    # its toes point to -Y (glTF +Z front), and the head stands 1.58 m above the floor as in the model
    heads = {name.removeprefix(prefix): np.array(head) for name, head in facts["heads"].items()}
    assert heads["Head"][2] == pytest.approx(1.58, abs=1e-3)
    assert heads["LeftHand"][0] == pytest.approx(0.7, abs=1e-3)
    assert heads["LeftToeBase"][1] < heads["LeftFoot"][1] - 0.1
