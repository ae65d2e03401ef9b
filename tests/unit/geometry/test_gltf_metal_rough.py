"""GLB I/O of Mesh.metal_rough (the _METALLIC_ROUGHNESS attribute) and Mesh.metal_rough_png (the
material's metallicRoughnessTexture), plain and Draco."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetcore.geometry.gltf import pack_glb, read_glb, unpack_glb, write_glb
from assetcore.geometry.gltf_constants import METAL_ROUGH_ATTRIBUTE
from assetcore.geometry.model import Mesh, Model
from assetcore.worker.backend import ErrorCode, StepError
from tests.support.gltf_validator import assert_valid_glb
from tests.support.synthetic_models import box_mesh

METAL, ROUGH = 200, 90  # the texture's B and G bytes


def metal_rough_png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (255, ROUGH, METAL)).save(out, format="PNG")
    return out.getvalue()


def two_material_values(mesh: Mesh) -> np.ndarray[Any, Any]:
    """Iron (1, 0.35) on the x < 0 half, cloth (0, 0.9) on the rest."""
    return np.where(mesh.positions[:, :1] < 0, [1.0, 0.35], [0.0, 0.9]).astype(np.float32)


def _pixel(png: bytes) -> list[int]:
    with Image.open(io.BytesIO(png)) as image:
        pixel: list[int] = np.asarray(image.convert("RGB"))[0, 0].tolist()
        return pixel


@pytest.mark.parametrize("draco", [False, True])
def test_per_vertex_materials_round_trip_as_an_application_attribute(draco: bool) -> None:
    mesh = box_mesh(textured=True, segments=2)
    mesh = replace(mesh, metal_rough=two_material_values(mesh))
    data = write_glb(Model(mesh=mesh), draco=draco)
    assert_valid_glb(data, strict=True)  # glTF allows attributes named "_..."; no warning
    primitive = unpack_glb(data)[0]["meshes"][0]["primitives"][0]  # type: ignore[index]
    assert METAL_ROUGH_ATTRIBUTE in primitive["attributes"]
    back = read_glb(data).mesh
    assert back.metal_rough is not None and back.metal_rough_png is None
    # Draco reorders the vertices: compare each vertex's values with those at its position
    expected = two_material_values(back)
    np.testing.assert_allclose(back.metal_rough, expected, atol=1e-7)
    material = unpack_glb(data)[0]["materials"][0]  # type: ignore[index]
    assert material["pbrMetallicRoughness"]["metallicFactor"] == 0.0, "an attribute is not shading"


@pytest.mark.parametrize("draco", [False, True])
def test_the_texture_round_trips_as_metallic_roughness_texture_with_unit_factors(draco: bool) -> None:
    mesh = replace(box_mesh(textured=True, segments=2), metal_rough_png=metal_rough_png())
    data = write_glb(Model(mesh=mesh), draco=draco)
    assert_valid_glb(data, strict=True)
    document: dict[str, Any] = unpack_glb(data)[0]
    pbr = document["materials"][0]["pbrMetallicRoughness"]
    assert pbr["baseColorTexture"] == {"index": 0}
    assert pbr["metallicRoughnessTexture"] == {"index": 1}
    assert (pbr["metallicFactor"], pbr["roughnessFactor"]) == (1.0, 1.0)
    back = read_glb(data).mesh
    assert back.metal_rough_png == mesh.metal_rough_png and back.texture_png == mesh.texture_png
    assert back.metal_rough is None


def test_without_materials_the_factors_stay_metallic_0_roughness_0_8() -> None:
    data = write_glb(Model(mesh=box_mesh(textured=True)))
    pbr = unpack_glb(data)[0]["materials"][0]["pbrMetallicRoughness"]  # type: ignore[index]
    assert (pbr["metallicFactor"], pbr["roughnessFactor"]) == (0.0, 0.8)
    assert "metallicRoughnessTexture" not in pbr
    back = read_glb(data).mesh
    assert back.metal_rough is None and back.metal_rough_png is None


def test_another_tools_factors_are_multiplied_into_the_texture() -> None:
    mesh = replace(box_mesh(textured=True), metal_rough_png=metal_rough_png())
    document, binary = unpack_glb(write_glb(Model(mesh=mesh)))
    pbr = document["materials"][0]["pbrMetallicRoughness"]  # type: ignore[index]
    pbr["metallicFactor"], pbr["roughnessFactor"] = 0.5, 1.0
    back = read_glb(pack_glb(document, binary or b"")).mesh
    assert back.metal_rough_png is not None
    assert _pixel(back.metal_rough_png) == [255, ROUGH, METAL // 2]


def test_bad_materials_are_refused_naming_the_field() -> None:
    mesh = box_mesh(textured=True)
    with pytest.raises(ValueError, match=r"mesh\.metal_rough has shape"):
        write_glb(Model(mesh=replace(mesh, metal_rough=np.zeros((mesh.vertex_count, 3), np.float32))))
    with pytest.raises(ValueError, match=r"mesh\.metal_rough_png is not a PNG"):
        write_glb(Model(mesh=replace(mesh, metal_rough_png=b"not a png")))
    with pytest.raises(ValueError, match=r"mesh\.metal_rough_png needs mesh\.uvs"):
        write_glb(Model(mesh=replace(mesh, texture_png=None, uvs=None, metal_rough_png=metal_rough_png())))


def test_a_foreign_attribute_of_the_wrong_width_is_invalid_input() -> None:
    mesh = box_mesh()
    document, binary = unpack_glb(write_glb(Model(mesh=replace(mesh, metal_rough=two_material_values(mesh)))))
    primitive = document["meshes"][0]["primitives"][0]  # type: ignore[index]
    primitive["attributes"][METAL_ROUGH_ATTRIBUTE] = primitive["attributes"]["POSITION"]  # VEC3
    with pytest.raises(StepError) as raised:
        read_glb(pack_glb(document, binary or b""))
    assert raised.value.code == ErrorCode.INVALID_INPUT and METAL_ROUGH_ATTRIBUTE in raised.value.message
