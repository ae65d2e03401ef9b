"""GLB I/O of TANGENT attributes and the material's normal texture (plain and Draco)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.model import Mesh, Model
from tests.support.gltf_validator import assert_valid_glb
from tests.support.synthetic_models import box_mesh, creature_model


def flat_normal_png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (128, 128, 255)).save(out, format="PNG")
    return out.getvalue()


def with_tangents(mesh: Mesh, seed: int = 0) -> Mesh:
    """The mesh with sloppy tangents (not unit, w of any size) and a normal map."""
    rng = np.random.default_rng(seed)
    tangents = rng.normal(size=(mesh.vertex_count, 4)).astype(np.float32)
    tangents[:, :3] *= 3.0
    return replace(mesh, tangents=tangents, normal_png=flat_normal_png())


def _sorted_rows(values: np.ndarray) -> np.ndarray:
    return values[np.lexsort(values.T[::-1])]


def test_tangents_and_normal_texture_round_trip_unit_with_w_plus_minus_one() -> None:
    mesh = with_tangents(box_mesh(textured=True, segments=2))
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    document, _ = unpack_glb(data)
    material = document["materials"][0]
    assert material["pbrMetallicRoughness"]["baseColorTexture"] == {"index": 0}
    assert material["normalTexture"] == {"index": 1}
    assert [texture["source"] for texture in document["textures"]] == [0, 1]
    back = read_glb(data).mesh
    assert back.tangents is not None and mesh.tangents is not None
    expected = mesh.tangents[:, :3] / np.linalg.norm(mesh.tangents[:, :3], axis=1, keepdims=True)
    np.testing.assert_allclose(back.tangents[:, :3], expected, atol=1e-6)
    np.testing.assert_array_equal(back.tangents[:, 3], np.where(mesh.tangents[:, 3] < 0, -1.0, 1.0))
    assert back.normal_png == mesh.normal_png and back.texture_png == mesh.texture_png


def test_a_normal_map_without_a_base_colour_texture_is_texture_zero() -> None:
    mesh = with_tangents(box_mesh())
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    material = unpack_glb(data)[0]["materials"][0]
    assert material["normalTexture"] == {"index": 0}
    assert "baseColorTexture" not in material["pbrMetallicRoughness"]
    back = read_glb(data).mesh
    assert back.normal_png == mesh.normal_png and back.texture_png is None


def test_tangents_are_left_out_without_normals() -> None:
    """glTF ignores tangents where there are no normals (the validator warns about them)."""
    mesh = replace(with_tangents(box_mesh()), normals=None, normal_png=None)
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    assert "TANGENT" not in unpack_glb(data)[0]["meshes"][0]["primitives"][0]["attributes"]
    assert read_glb(data).mesh.tangents is None


@pytest.mark.parametrize("kind", ["static", "skinned"])
def test_draco_keeps_tangents_exactly_unit(kind: str) -> None:
    model = (
        Model(mesh=box_mesh(textured=True, segments=3)) if kind == "static" else creature_model("quadruped")
    )
    model = replace(model, mesh=with_tangents(model.mesh))
    data = write_glb(model, draco=True)
    assert_valid_glb(data, strict=True)
    back = read_glb(data).mesh
    plain = read_glb(write_glb(model)).mesh
    assert back.tangents is not None and plain.tangents is not None
    np.testing.assert_allclose(np.linalg.norm(back.tangents[:, :3], axis=1), 1.0, atol=1e-6)
    # Draco reorders the vertices and keeps the tangents losslessly
    np.testing.assert_allclose(_sorted_rows(back.tangents), _sorted_rows(plain.tangents), atol=1e-7)
    assert back.normal_png == model.mesh.normal_png


def test_wrong_tangents_or_normal_maps_are_refused() -> None:
    """A normal map is meaningless without its tangent space; validators warn about one without."""
    mesh = with_tangents(box_mesh())
    with pytest.raises(ValueError, match=r"mesh\.tangents has shape"):
        write_glb(Model(mesh=replace(mesh, tangents=np.zeros((mesh.vertex_count, 3), np.float32))))
    with pytest.raises(ValueError, match=r"mesh\.normal_png is not a PNG"):
        write_glb(Model(mesh=replace(mesh, normal_png=b"not a png")))
    for missing in ("tangents", "normals", "uvs"):
        with pytest.raises(ValueError, match=r"mesh\.normal_png needs"):
            write_glb(Model(mesh=replace(mesh, **{missing: None})))
