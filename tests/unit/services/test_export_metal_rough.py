"""The metallic-roughness map through rig, anim and export: GLB (plain, Draco, KTX2) and FBX."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import alktx2
import numpy as np
import pytest
from PIL import Image

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.model import Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepOutput
from services.export.ktx2 import BASISU
from tests.support.creature_meshes import humanoid_mesh
from tests.support.gltf_validator import assert_valid_glb
from tests.support.steps import backend_of, no_progress, run_step_function, step_request
from tests.support.synthetic_models import box_mesh
from tests.unit.geometry.test_gltf_metal_rough import METAL, ROUGH, metal_rough_png
from tests.unit.geometry.test_gltf_tangents import with_tangents

needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")


def _input(name: str, data: bytes) -> InputFile:
    return InputFile(name, "model/gltf-binary", data, hashlib.sha256(data).hexdigest())


def _run(step: str, job: job_pb2.JobInput, inputs: dict[str, bytes]) -> StepOutput:
    """The step's default backend (rig: cpu, anim: procedural, export: gltf) on the inputs."""
    request = step_request(step, job, {}, 1, {n: _input(n, d) for n, d in inputs.items()})
    return run_step_function(backend_of(step), request, no_progress)


def _files(output: StepOutput) -> dict[str, bytes]:
    return {f.name: f.data for f in output.files}


def _export(models: dict[str, Model], engine: str = "", **export: Any) -> dict[str, bytes]:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight"), export=job_pb2.ExportOptions(engine=engine, **export)
    )
    return _files(_run("export", job, {name: write_glb(model) for name, model in models.items()}))


def pbr_box() -> Model:
    """A box with base colour, normal and metallic-roughness maps."""
    return Model(
        mesh=replace(with_tangents(box_mesh(textured=True, segments=2)), metal_rough_png=metal_rough_png())
    )


def _texture_image(document: dict[str, Any], slot: str) -> int:
    pbr = document["materials"][0]["pbrMetallicRoughness"]
    return int(document["textures"][pbr[slot]["index"]]["source"])


def test_the_map_survives_rig_anim_and_export() -> None:
    mesh = humanoid_mesh(20.0)
    low, high = mesh.positions.min(axis=0), mesh.positions.max(axis=0)
    uvs = ((mesh.positions[:, :2] - low[:2]) / (high[:2] - low[:2])).astype(np.float32)
    mesh = replace(mesh, uvs=uvs, metal_rough_png=metal_rough_png())
    humanoid = job_pb2.JobInput(constraints=job_pb2.Constraints(rig_type=job_pb2.RIG_TYPE_HUMANOID))
    rigged = _files(_run("rig", humanoid, {"mesh": write_glb(Model(mesh=mesh))}))["rigged"]
    anim = job_pb2.JobInput(animation=job_pb2.AnimationOptions(clips=["idle"], fps=5))
    animated = _files(_run("anim", anim, {"rigged": rigged}))["animated"]
    assert read_glb(animated).mesh.metal_rough_png == mesh.metal_rough_png
    export = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight"), export=job_pb2.ExportOptions(draco=True)
    )
    glb = _files(_run("export", export, {"animated": animated}))["glb"]
    assert_valid_glb(glb, strict=True)
    assert read_glb(glb).mesh.metal_rough_png == mesh.metal_rough_png


@pytest.mark.parametrize("draco", [False, True])
def test_an_exported_lod_with_the_map_is_valid_and_names_each_map(draco: bool) -> None:
    files = _export({"mesh": pbr_box(), "lod1": pbr_box()}, engine="unreal", draco=draco)
    for name in ("glb", "lod1_glb"):
        assert_valid_glb(files[name], strict=True)
        document: dict[str, Any] = unpack_glb(files[name])[0]
        names = {
            slot: document["images"][_texture_image(document, slot)]["name"]
            for slot in ("baseColorTexture", "metallicRoughnessTexture")
        }
        assert names == {"baseColorTexture": "T_Knight_D", "metallicRoughnessTexture": "T_Knight_ORM"}
        normal = document["textures"][document["materials"][0]["normalTexture"]["index"]]["source"]
        assert document["images"][normal]["name"] == "T_Knight_N"
        assert read_glb(files[name]).mesh.metal_rough_png == pbr_box().mesh.metal_rough_png
    material = json.loads(files["manifest"])["material"]
    assert material["metallic_roughness_texture"] == material["normal_texture"]
    assert material["metallic_roughness_texture"] == {"width": 8, "height": 8, "format": "png"}


def test_ktx2_stores_the_map_as_linear_uastc() -> None:
    glb = _export({"mesh": pbr_box()}, ktx2=True)["glb"]
    document, binary = unpack_glb(glb)
    assert binary is not None
    pbr = document["materials"][0]["pbrMetallicRoughness"]  # type: ignore[index]
    texture = document["textures"][pbr["metallicRoughnessTexture"]["index"]]  # type: ignore[index]
    view = document["bufferViews"][document["images"][texture["extensions"][BASISU]["source"]]["bufferView"]]  # type: ignore[index]
    ktx2 = binary[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]]
    info = alktx2.inspect_ktx2(ktx2)
    assert info["is_uastc"] and not info["is_srgb"], "data, like the normal map"
    decoded, _ = alktx2.decode_ktx2_to_bytes(ktx2)
    with Image.open(io.BytesIO(decoded)) as image:
        pixels = np.asarray(image.convert("RGB"), np.int64)
    assert np.abs(pixels - (255, ROUGH, METAL)).max() <= 2
    assert read_glb(glb).mesh.metal_rough_png == pbr_box().mesh.metal_rough_png, "the PNG stays the fallback"


def material_inputs(fbx: bytes, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Runs in the Blender child: import the FBX; each BSDF input's image and its first pixel's bytes."""
    import tempfile
    from pathlib import Path

    import bpy

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asset.fbx"
        path.write_bytes(fbx)
        bpy.ops.import_scene.fbx(filepath=str(path))
        inputs: dict[str, Any] = {}
        for material in bpy.data.materials:
            bsdf = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
            for socket in ("Base Color", "Metallic", "Roughness"):
                if bsdf.inputs[socket].is_linked:
                    image = bsdf.inputs[socket].links[0].from_node.image
                    pixels = np.empty(len(image.pixels), np.float32)
                    image.pixels.foreach_get(pixels)
                    inputs[socket] = (
                        image.name,
                        image.colorspace_settings.is_data,
                        np.round(pixels[:3] * 255).astype(int).tolist(),
                    )
        return inputs


@needs_blender
@pytest.mark.blender
def test_fbx_links_metallic_and_roughness_to_single_channel_copies_of_the_map() -> None:
    files = _export({"mesh": pbr_box()}, engine="unreal", formats=["glb", "fbx"])
    inputs = shared_blender().call(material_inputs, files["fbx"])
    assert inputs["Metallic"] == ("T_Knight_M", True, [METAL] * 3)
    assert inputs["Roughness"] == ("T_Knight_R", True, [ROUGH] * 3)
    name, is_data, _ = inputs["Base Color"]
    assert (name, is_data) == ("T_Knight_D", False), "each map is embedded under its own name"
    again = _export({"mesh": pbr_box()}, engine="unreal", formats=["glb", "fbx"])
    assert again["fbx"] == files["fbx"], "FBX bytes are reproducible"
