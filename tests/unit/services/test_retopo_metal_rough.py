"""retopo's metallic-roughness bake: per-vertex materials (and an input's own map) onto each LOD's UVs."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.gltf_constants import METAL_ROUGH_ATTRIBUTE
from assetcore.geometry.model import Mesh, Model
from assetcore.worker.backend import StepOutput
from services.retopo.backends.decimate import DecimateBackend
from services.retopo.bake import bake_maps, rasterise
from services.retopo.colour_source import ColourSource
from services.retopo.metal_rough_source import MetalRoughSource
from services.retopo.normal_map import NormalSource
from services.retopo.unwrap import unwrap
from tests.support import retopo_meshes
from tests.support.gltf_validator import assert_valid_glb
from tests.support.retopo_meshes import retopo_request
from tests.support.steps import no_progress, run_step_function

os.environ.setdefault("OMP_NUM_THREADS", "1")

IRON, CLOTH = (1.0, 0.35), (0.0, 0.9)  # (metallic, roughness): the x < 0 half, the x >= 0 half
SEAM = 0.05  # metres either side of x = 0: the source triangles that straddle it reach 0.042
SMALL = {"face_target": 1200, "texture_size": 256}


def two_material_figure() -> Mesh:
    positions, faces = retopo_meshes.figure()
    metal_rough = np.where(positions[:, :1] < 0, IRON, CLOTH).astype(np.float32)
    return Mesh(
        positions=positions.astype(np.float32), faces=faces.astype(np.uint32), metal_rough=metal_rough
    )


def channels(png: bytes) -> np.ndarray[Any, Any]:
    """(H, W, 3) bytes of a metallicRoughness PNG: R unused, G roughness, B metallic."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), np.int64)


def expected_bytes(metal_rough: tuple[float, float]) -> list[int]:
    """R 255, G roughness, B metallic, from the float32 values the mesh holds."""
    metallic, roughness = np.asarray(metal_rough, np.float32).astype(np.float64).tolist()
    return [255, round(roughness * 255), round(metallic * 255)]


def assert_sides_match(positions: np.ndarray[Any, Any], pixels: np.ndarray[Any, Any]) -> None:
    """`pixels` (N, 3) taken at surface `positions` (N, 3) hold iron on x < 0 and cloth on x > 0."""
    left, right = positions[:, 0] < -SEAM, positions[:, 0] > SEAM
    assert left.sum() > 50 and right.sum() > 50
    np.testing.assert_array_equal(pixels[left], np.tile(expected_bytes(IRON), (int(left.sum()), 1)))
    np.testing.assert_array_equal(pixels[right], np.tile(expected_bytes(CLOTH), (int(right.sum()), 1)))


def test_every_texel_takes_its_sides_material() -> None:
    source = two_material_figure()
    positions = source.positions.astype(np.float64)
    faces = source.faces.astype(np.int64)
    layout = unwrap(positions, faces, 128)
    low = positions[layout.source_vertex]
    normals = meshops.vertex_normals(positions, faces)[layout.source_vertex]
    baked = bake_maps(
        low, normals, layout.faces, layout.uvs, ColourSource(source), NormalSource(source), 128,
        MetalRoughSource(source),
    )  # fmt: skip
    assert baked.metal_rough_png is not None
    texels = rasterise(layout.faces, layout.uvs, 128)
    points = np.einsum("ij,ijk->ik", texels.barycentric, low[layout.faces[texels.faces]])
    assert_sides_match(points, channels(baked.metal_rough_png)[texels.rows, texels.cols])


def test_a_source_without_materials_bakes_no_map() -> None:
    source = replace(two_material_figure(), metal_rough=None)
    positions, faces = source.positions.astype(np.float64), source.faces.astype(np.int64)
    layout = unwrap(positions, faces, 64)
    normals = meshops.vertex_normals(positions, faces)[layout.source_vertex]
    materials = MetalRoughSource(source)
    baked = bake_maps(
        positions[layout.source_vertex], normals, layout.faces, layout.uvs, ColourSource(source),
        NormalSource(source), 64, materials,
    )  # fmt: skip
    assert materials.kind == "none" and baked.metal_rough_png is None


@cache
def retopologised(data: bytes) -> StepOutput:
    return run_step_function(DecimateBackend(), retopo_request(data, SMALL), no_progress)


def texels_under_vertices(mesh: Mesh, png: bytes) -> np.ndarray[Any, Any]:
    assert mesh.uvs is not None
    pixels = channels(png)
    size = pixels.shape[0]
    rows = np.clip((mesh.uvs[:, 1] * size).astype(int), 0, size - 1)
    cols = np.clip((mesh.uvs[:, 0] * size).astype(int), 0, size - 1)
    under: np.ndarray[Any, Any] = pixels[rows, cols]
    return under


def test_every_lod_gets_a_map_beside_its_colour_and_normal_maps() -> None:
    output = retopologised(write_glb(Model(mesh=two_material_figure())))
    assert "metallic-roughness baked from the input's per-vertex materials" in output.notes
    sizes = []
    for lod in output.files:
        assert_valid_glb(lod.data, strict=True)
        document: dict[str, Any] = unpack_glb(lod.data)[0]
        assert METAL_ROUGH_ATTRIBUTE not in document["meshes"][0]["primitives"][0]["attributes"]
        pbr = document["materials"][0]["pbrMetallicRoughness"]
        assert (pbr["metallicFactor"], pbr["roughnessFactor"]) == (1.0, 1.0)
        mesh = read_glb(lod.data).mesh
        assert mesh.metal_rough_png is not None and mesh.texture_png is not None
        assert_sides_match(mesh.positions, texels_under_vertices(mesh, mesh.metal_rough_png))
        with (
            Image.open(io.BytesIO(mesh.metal_rough_png)) as image,
            Image.open(io.BytesIO(mesh.texture_png)) as base,
        ):
            assert image.size == base.size
            sizes.append(image.size[0])
    assert sizes == [256, 128, 128]  # halved per LOD down to the minimum, as the base colour


def test_an_input_map_is_baked_again_onto_new_uvs() -> None:
    lod0 = next(
        f for f in retopologised(write_glb(Model(mesh=two_material_figure()))).files if f.name == "mesh"
    )
    again = run_step_function(
        DecimateBackend(), retopo_request(lod0.data, {"face_target": 600, "texture_size": 256}), no_progress
    )
    assert "metallic-roughness baked from the input's metallic-roughness texture" in again.notes
    mesh = read_glb(again.files[0].data).mesh
    assert mesh.metal_rough_png is not None
    assert_sides_match(mesh.positions, texels_under_vertices(mesh, mesh.metal_rough_png))


def test_an_input_without_materials_keeps_the_default_factors() -> None:
    output = retopologised(retopo_meshes.two_coloured_figure())
    assert any("no metallic-roughness map" in note for note in output.notes)
    for lod in output.files:
        pbr = unpack_glb(lod.data)[0]["materials"][0]["pbrMetallicRoughness"]  # type: ignore[index]
        assert (pbr["metallicFactor"], pbr["roughnessFactor"]) == (0.0, 0.8)
        assert read_glb(lod.data).mesh.metal_rough_png is None
