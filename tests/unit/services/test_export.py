"""The export step: GLB/LOD/FBX files, engine presets, the manifest, and bad inputs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, OutputFile, StepError, StepOutput, StepRequest
from services.export import exporter
from services.export.step import STEP
from tests.support.blender_inspection import fbx_summary
from tests.support.gltf_validator import assert_valid_glb
from tests.support.steps import run_step_function, step_request
from tests.support.synthetic_models import box_mesh, creature_model

needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")


def _glb_input(name: str, data: bytes) -> InputFile:
    return InputFile(
        name=name, media_type="model/gltf-binary", data=data, sha256=hashlib.sha256(data).hexdigest()
    )


def _request(
    inputs: dict[str, Model | bytes],
    *,
    engine: str = "",
    formats: tuple[str, ...] = (),
    draco: bool = False,
    params: dict[str, Any] | None = None,
    concept: str = "a knight in red armor",
) -> StepRequest:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept=concept),
        export=job_pb2.ExportOptions(formats=list(formats), engine=engine, draco=draco),
    )
    files = {
        name: _glb_input(name, v if isinstance(v, bytes) else write_glb(v)) for name, v in inputs.items()
    }
    return step_request("export", job, params, 1, files)


def _progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
    assert 0.0 <= fraction <= 1.0


def _export(request: StepRequest, backend: str = "gltf") -> StepOutput:
    instance = STEP.backends[backend].create()
    instance.load()
    return run_step_function(instance, request, _progress)


def _files(output: StepOutput) -> dict[str, OutputFile]:
    return {file.name: file for file in output.files}


def _manifest(output: StepOutput) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(_files(output)["manifest"].data)
    return manifest


def _rigged(kind: str, segments: int = 6) -> Model:
    model = creature_model(kind, segments=segments)
    model.clips = []
    return model


def test_step_definition() -> None:
    assert STEP.name == "export"
    assert STEP.consumes == ("animated", "rigged", "mesh", "lod1", "lod2")
    assert STEP.default_backend == "gltf" and set(STEP.backends) == {"gltf", "blender"}
    assert STEP.default_pool() == "cpu"


def test_static_prop_exports_a_valid_textured_glb_and_manifest() -> None:
    prop = Model(mesh=box_mesh(textured=True, segments=3))
    output = _export(
        _request({"mesh": prop, "lod1": Model(box_mesh(textured=True))}, concept="a wooden chest")
    )
    files = _files(output)
    assert set(files) == {"glb", "lod1_glb", "manifest"}
    assert (
        files["glb"].media_type == "model/gltf-binary" and files["manifest"].media_type == "application/json"
    )
    assert_valid_glb(files["glb"].data, strict=True)
    assert_valid_glb(files["lod1_glb"].data, strict=True)
    back = read_glb(files["glb"].data)
    assert back.skeleton is None and back.mesh.texture_png == prop.mesh.texture_png
    assert back.mesh.name == "wooden_chest"
    manifest = _manifest(output)
    assert manifest["kind"] == "static" and manifest["source"] == "mesh" and manifest["skeleton"] is None
    assert [lod["faces"] for lod in manifest["lods"]] == [prop.mesh.face_count, 12]
    assert manifest["material"]["base_color_texture"] == {"width": 16, "height": 16, "format": "png"}
    by_artifact = {f["artifact"]: f for f in manifest["files"]}
    assert by_artifact["glb"]["sha256"] == files["glb"].sha256
    assert by_artifact["lod1_glb"]["file_name"] == "wooden_chest_lod1.glb"
    assert output.preview_png is not None and output.preview_png.startswith(b"\x89PNG")
    assert output.metrics["faces"] == prop.mesh.face_count


def test_animated_humanoid_exports_skin_clips_and_lods() -> None:
    animated = creature_model("humanoid")
    lod = _rigged("humanoid", segments=2)
    request = _request({"animated": animated, "rigged": _rigged("humanoid"), "lod1": lod, "lod2": lod})
    output = _export(request)
    files = _files(output)
    assert set(files) == {"glb", "lod1_glb", "lod2_glb", "manifest"}
    for name in ("glb", "lod1_glb", "lod2_glb"):
        assert_valid_glb(files[name].data, strict=True)
    back = read_glb(files["glb"].data)
    assert back.skeleton is not None and back.skeleton.names == animated.skeleton.names  # type: ignore[union-attr]
    assert [clip.name for clip in back.clips] == ["idle", "walk"]
    assert read_glb(files["lod1_glb"].data).clips == []
    manifest = _manifest(output)
    assert manifest["source"] == "animated" and manifest["kind"] == "skinned"
    assert manifest["skeleton"]["bones"] == 25 and manifest["skeleton"]["roots"] == ["Hips"]
    assert [(c["name"], c["frames"], c["duration_s"]) for c in manifest["clips"]] == [
        ("idle", 16, 0.5),
        ("walk", 24, pytest.approx(23 / 30)),
    ]
    assert manifest["gltf"]["max_joint_influences"] == 4


def test_most_processed_input_wins() -> None:
    output = _export(_request({"rigged": _rigged("quadruped"), "mesh": Model(mesh=box_mesh())}))
    manifest = _manifest(output)
    assert manifest["source"] == "rigged" and manifest["kind"] == "skinned" and manifest["clips"] == []
    assert_valid_glb(_files(output)["glb"].data, strict=True)


@pytest.mark.parametrize(
    ("engine", "asset", "clip", "texture"),
    [
        ("", "knight_in_red_armor", "idle", "knight_in_red_armor_base_color"),
        ("unity", "KnightInRedArmor", "Idle", "KnightInRedArmor_BaseColor"),
        ("unreal", "SK_KnightInRedArmor", "A_KnightInRedArmor_Idle", "T_KnightInRedArmor_D"),
        ("godot", "knight_in_red_armor", "idle_loop", "knight_in_red_armor_base_color"),
    ],
)
def test_engine_presets_name_the_files(engine: str, asset: str, clip: str, texture: str) -> None:
    output = _export(_request({"animated": creature_model("humanoid")}, engine=engine))
    glb = _files(output)["glb"].data
    assert_valid_glb(glb, strict=True)
    document, _ = unpack_glb(glb)
    assert document["meshes"][0]["name"] == asset
    assert document["animations"][0]["name"] == clip
    assert document["images"][0]["name"] == texture
    manifest = _manifest(output)
    assert manifest["name"] == asset and manifest["engine"] == (engine or "generic")
    assert manifest["files"][0]["file_name"] == f"{asset}.glb"


def test_unreal_strips_end_joints_and_godot_renames_humanoid_joints() -> None:
    model = creature_model("humanoid")
    unreal = read_glb(_files(_export(_request({"animated": model}, engine="unreal")))["glb"].data)
    assert unreal.skeleton is not None and unreal.skin is not None
    assert not [name for name in unreal.skeleton.names if name.endswith("_End")]
    assert unreal.skeleton.joint_count == 22 and unreal.clips[0].rotations.shape[1] == 22
    assert int(unreal.skin.joints.max()) < 22
    godot = read_glb(_files(_export(_request({"animated": model}, engine="godot")))["glb"].data)
    assert godot.skeleton is not None
    assert {"Chest", "UpperChest", "LeftUpperArm", "RightLowerLeg", "LeftToes"} <= set(godot.skeleton.names)
    kept = read_glb(
        _files(_export(_request({"animated": model}, engine="unreal", params={"end_joints": "keep"})))[
            "glb"
        ].data
    )
    assert kept.skeleton is not None and kept.skeleton.joint_count == 25


def test_draco_export_requires_the_extension() -> None:
    output = _export(
        _request({"animated": creature_model("quadruped"), "lod1": _rigged("quadruped")}, draco=True)
    )
    for name in ("glb", "lod1_glb"):
        data = _files(output)[name].data
        assert_valid_glb(data, strict=True)
        assert unpack_glb(data)[0]["extensionsRequired"] == ["KHR_draco_mesh_compression"]
    assert _manifest(output)["gltf"]["draco"] is True


def test_export_is_deterministic() -> None:
    request = _request({"animated": creature_model("humanoid"), "lod1": _rigged("humanoid")}, engine="unity")
    first, second = _export(request), _export(request)
    assert [f.data for f in first.files] == [f.data for f in second.files]
    assert first.preview_png == second.preview_png


@pytest.mark.parametrize(
    ("inputs", "options", "code", "field"),
    [
        ({}, {}, ErrorCode.INVALID_INPUT, "inputs"),
        ({"mesh": b"these bytes are no GLB"}, {}, ErrorCode.INVALID_INPUT, "GLB"),
        ({"mesh": "empty"}, {}, ErrorCode.EMPTY_MESH, "no faces"),
        ({"mesh": "box"}, {"engine": "cryengine"}, ErrorCode.INVALID_PARAMS, "export.engine"),
        ({"mesh": "box"}, {"formats": ("glb", "obj")}, ErrorCode.INVALID_PARAMS, "export.formats"),
        ({"mesh": "box"}, {"params": {"colour": 1}}, ErrorCode.INVALID_PARAMS, "colour"),
        ({"mesh": "box"}, {"params": {"end_joints": "maybe"}}, ErrorCode.INVALID_PARAMS, "end_joints"),
        ({"mesh": "box"}, {"params": {"fbx_leaf_bones": "yes"}}, ErrorCode.INVALID_PARAMS, "fbx_leaf_bones"),
    ],
)
def test_bad_inputs_fail_with_a_clear_code(
    inputs: dict[str, Any], options: dict[str, Any], code: str, field: str
) -> None:
    empty = Model(mesh=Mesh(positions=np.zeros((0, 3), np.float32), faces=np.zeros((0, 3), np.uint32)))
    models = {"empty": empty, "box": Model(mesh=box_mesh())}
    resolved = {
        name: models.get(value, value) if isinstance(value, str) else value for name, value in inputs.items()
    }
    with pytest.raises(StepError) as caught:
        _export(_request(resolved, **options))
    assert caught.value.code == code
    assert field in caught.value.message


def test_fbx_without_blender_is_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exporter, "bpy_available", lambda: False)
    with pytest.raises(StepError) as caught:
        _export(_request({"mesh": Model(mesh=box_mesh())}, formats=("glb", "fbx")))
    assert caught.value.code == ErrorCode.BACKEND_UNAVAILABLE
    assert "bpy" in caught.value.message


def test_quality_gate_catches_a_backend_that_skips_files() -> None:
    class ForgetfulBackend:
        def run(self, request: StepRequest, progress: Any) -> StepOutput:
            return StepOutput(
                files=[OutputFile("glb", "model/gltf-binary", write_glb(Model(mesh=box_mesh())))]
            )

    with pytest.raises(StepError) as caught:
        run_step_function(ForgetfulBackend(), _request({"mesh": Model(mesh=box_mesh())}), _progress)  # type: ignore[arg-type]
    assert caught.value.code == ErrorCode.INTERNAL and "manifest" in caught.value.message


@needs_blender
@pytest.mark.blender
@pytest.mark.parametrize(("kind", "engine"), [("humanoid", "unreal"), ("quadruped", "")])
def test_fbx_reimports_into_blender_with_one_armature_and_its_actions(kind: str, engine: str) -> None:
    model = creature_model(kind)
    output = _export(_request({"animated": model}, engine=engine, formats=("glb", "fbx")))
    fbx = _files(output)["fbx"].data
    assert fbx.startswith(b"Kaydara FBX Binary")
    summary = shared_blender().call(fbx_summary, fbx)
    assert summary["armatures"] == ["Armature"]
    assert len(summary["actions"]) == len(model.clips)
    assert summary["faces"] == model.mesh.face_count
    assert summary["images"], "the texture is embedded"
    assert summary["top_z"] == pytest.approx(
        float(model.mesh.positions[:, 1].max()), rel=1e-3
    )  # metres either way
    if engine == "unreal":
        assert all(action.endswith(("_Idle", "_Walk")) for action in summary["actions"])
        assert not [bone for bone in summary["bones"] if bone.lower().endswith("_end")]
    else:
        assert [bone for bone in summary["bones"] if bone.endswith("_end")], "generic adds leaf bones"
    again = _export(_request({"animated": model}, engine=engine, formats=("glb", "fbx")))
    assert _files(again)["fbx"].data == fbx, "FBX bytes are reproducible"


@needs_blender
@pytest.mark.blender
def test_static_prop_fbx_has_no_armature() -> None:
    output = _export(
        _request({"mesh": Model(mesh=box_mesh(textured=True))}, engine="unity", formats=("fbx",))
    )
    summary = shared_blender().call(fbx_summary, _files(output)["fbx"].data)
    assert summary["armatures"] == [] and summary["faces"] == 12 and summary["actions"] == []


@needs_blender
@pytest.mark.blender
def test_blender_backend_writes_valid_glb_and_fbx() -> None:
    model = creature_model("humanoid")
    request = _request(
        {"animated": model, "lod1": _rigged("humanoid")}, engine="godot", formats=("glb", "fbx")
    )
    output = _export(request, backend="blender")
    files = _files(output)
    assert_valid_glb(files["glb"].data, strict=True)
    assert_valid_glb(files["lod1_glb"].data, strict=True)
    back = read_glb(files["glb"].data)
    assert back.skeleton is not None and back.skeleton.joint_count == model.skeleton.joint_count  # type: ignore[union-attr]
    assert sorted(clip.name for clip in back.clips) == ["idle_loop", "walk_loop"]
    assert _manifest(output)["backend"] == "blender"
    assert len(shared_blender().call(fbx_summary, files["fbx"].data)["actions"]) == 2
