"""retopo: repair, symmetry, face targets, UVs, bakes and LODs, for both backends."""

from __future__ import annotations

import io
import os
from functools import cache
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree

from assetcore.blender import bpy_available
from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Mesh
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, StepBackend, StepError, StepOutput
from services.retopo.backends.blender import BlenderBackend
from services.retopo.backends.decimate import DecimateBackend
from services.retopo.bake import rasterise
from services.retopo.options import RetopoOptions
from services.retopo.polygons import triangulate
from services.retopo.step import STEP
from tests.support import retopo_meshes
from tests.support.retopo_meshes import retopo_request
from tests.support.steps import no_progress, run_step_function

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGET = 1200
SMALL = {"face_target": TARGET, "texture_size": 256}
LODS = (("mesh", 1.0), ("lod1", 0.5), ("lod2", 0.25))


def run(
    data: bytes, params: dict[str, Any] | None = None, backend: StepBackend | None = None, **job: Any
) -> StepOutput:
    return run_step_function(backend or DecimateBackend(), retopo_request(data, params, **job), no_progress)


def meshes(output: StepOutput) -> dict[str, Mesh]:
    return {f.name: read_glb(f.data).mesh for f in output.files}


def texture(mesh: Mesh) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(mesh.texture_png or b"")).convert("RGB"), np.float64) / 255.0


def texel_colours(mesh: Mesh) -> np.ndarray:
    """The texture colour under each vertex's UV."""
    assert mesh.uvs is not None
    pixels = texture(mesh)
    size = pixels.shape[0]
    rows = np.clip((mesh.uvs[:, 1] * size).astype(int), 0, size - 1)
    cols = np.clip((mesh.uvs[:, 0] * size).astype(int), 0, size - 1)
    return pixels[rows, cols]


@cache
def figure_output() -> StepOutput:
    return run(retopo_meshes.two_coloured_figure(), SMALL)


def test_step_definition() -> None:
    assert (STEP.name, STEP.consumes, STEP.default_backend, STEP.default_pool()) == (
        "retopo",
        ("mesh",),
        "decimate",
        "cpu",
    )
    assert set(STEP.backends) == {"decimate", "instant_meshes", "blender"}


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "faces"),
    [
        (job_pb2.PLATFORM_MOBILE, 5_000),
        (job_pb2.PLATFORM_PC, 15_000),
        (job_pb2.PLATFORM_CONSOLE, 30_000),
        (job_pb2.PLATFORM_UNSPECIFIED, 15_000),
    ],
)
def test_platform_default_face_targets(platform: int, faces: int) -> None:
    job = job_pb2.JobInput(constraints=job_pb2.Constraints(platform=platform))
    assert RetopoOptions.resolve(job, {}).faces == faces


def test_poly_budget_then_params_override() -> None:
    job = job_pb2.JobInput(
        constraints=job_pb2.Constraints(poly_budget=8000, platform=job_pb2.PLATFORM_MOBILE)
    )
    assert RetopoOptions.resolve(job, {}).faces == 8000
    assert RetopoOptions.resolve(job, {"face_target": 2000.0}).faces == 2000


@pytest.mark.parametrize(
    ("budget", "params", "field"),
    [
        (0, {}, "constraints.poly_budget"),
        (10_000_000, {}, "constraints.poly_budget"),
        (99, {}, "constraints.poly_budget"),
        (None, {"face_target": 0}, "retopo.face_target"),
        (None, {"face_target": 10_000_000}, "retopo.face_target"),
        (None, {"face_target": "many"}, "retopo.face_target"),
        (None, {"texture_size": 1000}, "retopo.texture_size"),
        (None, {"symmetry": "maybe"}, "retopo.symmetry"),
        (None, {"quads": True}, "retopo.quads"),
    ],
)
def test_out_of_range_options_name_the_field(budget: int | None, params: dict[str, Any], field: str) -> None:
    constraints = {} if budget is None else {"poly_budget": budget}
    with pytest.raises(StepError) as error:
        run(retopo_meshes.lopsided_blob(), params, **constraints)
    assert error.value.code == ErrorCode.INVALID_PARAMS
    assert field in error.value.message


# --- outputs and quality gates ---------------------------------------------------------------


def test_lods_are_watertight_textured_and_on_target() -> None:
    output = figure_output()
    lods = meshes(output)
    assert list(lods) == ["mesh", "lod1", "lod2"]
    for name, share in LODS:
        mesh = lods[name]
        positions, faces = meshops.weld(mesh.positions, mesh.faces)
        assert meshops.is_closed_manifold(faces), name
        assert meshops.components(faces, len(positions))[0] == 1, name
        assert abs(mesh.face_count - TARGET * share) <= 0.1 * TARGET * share, name
        assert mesh.uvs is not None and mesh.uvs.min() >= 0.0 and mesh.uvs.max() <= 1.0
        assert mesh.normals is not None and mesh.colors is None
        assert mesh.texture_png is not None
    assert output.metrics["faces"] == lods["mesh"].face_count
    assert output.metrics["lod1_faces"] == lods["lod1"].face_count
    assert Image.open(io.BytesIO(output.preview_png or b"")).size == (256, 256)


def test_texture_sizes_halve_per_lod_down_to_128() -> None:
    sizes = [texture(mesh).shape[:2] for mesh in meshes(figure_output()).values()]
    assert sizes == [(256, 256), (128, 128), (128, 128)]


def test_uv_charts_do_not_overlap() -> None:
    mesh = meshes(figure_output())["mesh"]
    assert mesh.uvs is not None
    corners = mesh.uvs[mesh.faces.astype(np.int64)].astype(np.float64)
    signed = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]) / 2.0
    assert 0.3 < np.abs(signed).sum() <= 1.0  # packed, and no more area than the square holds


def test_symmetric_input_gives_a_mirror_symmetric_mesh() -> None:
    output = figure_output()
    assert output.metrics["symmetric"] == 1.0
    for mesh in meshes(output).values():
        distances, _ = cKDTree(mesh.positions).query(mesh.positions * (-1.0, 1.0, 1.0))
        assert distances.max() < 1e-5


def test_asymmetric_input_is_left_as_it_is() -> None:
    output = run(retopo_meshes.lopsided_blob(), SMALL)
    assert output.metrics["symmetric"] == 0.0
    assert abs(output.metrics["faces"] - TARGET) <= 0.1 * TARGET


def test_colours_are_baked_onto_the_right_side() -> None:
    mesh = meshes(figure_output())["mesh"]
    colours = texel_colours(mesh)
    right, left = mesh.positions[:, 0] > 0.05, mesh.positions[:, 0] < -0.05
    blue = meshops.linear_to_srgb(retopo_meshes.BLUE[:3])
    red = meshops.linear_to_srgb(retopo_meshes.RED[:3])
    assert np.allclose(np.median(colours[right], axis=0), blue, atol=0.05)
    assert np.allclose(np.median(colours[left], axis=0), red, atol=0.05)


def test_a_textured_input_keeps_its_colours() -> None:
    lod0 = next(f.data for f in figure_output().files if f.name == "mesh")
    again = run(lod0, {"face_target": 600, "texture_size": 256})
    assert any("texture" in note for note in again.notes)
    mesh = meshes(again)["mesh"]
    colours = texel_colours(mesh)
    right = mesh.positions[:, 0] > 0.05
    blue = meshops.linear_to_srgb(retopo_meshes.BLUE[:3])
    assert np.allclose(np.median(colours[right], axis=0), blue, atol=0.05)


def test_small_inputs_are_refined_up_to_the_target() -> None:
    output = run(retopo_meshes.glb(*retopo_meshes.figure(12)), {"face_target": 3000, "texture_size": 256})
    assert abs(output.metrics["faces"] - 3000) <= 300


def test_same_input_same_bytes() -> None:
    data = retopo_meshes.lopsided_blob()
    first, second = run(data, SMALL), run(data, SMALL)
    assert [f.data for f in first.files] == [f.data for f in second.files]


# --- repair and bad inputs -------------------------------------------------------------------


def test_a_crack_is_repaired() -> None:
    output = run(retopo_meshes.cracked_box(), SMALL)
    assert any("rebuilt" in note for note in output.notes)
    mesh = meshes(output)["mesh"]
    assert meshops.is_closed_manifold(meshops.weld(mesh.positions, mesh.faces)[1])


def test_edges_shared_by_four_faces_are_repaired() -> None:
    output = run(retopo_meshes.cubes_sharing_an_edge(), SMALL)
    assert any("rebuilt" in note for note in output.notes)


@pytest.mark.parametrize("make", [retopo_meshes.open_box, retopo_meshes.flat_sheet])
def test_open_surfaces_are_beyond_repair(make: Any) -> None:
    with pytest.raises(StepError) as error:
        run(make(), SMALL)
    assert error.value.code == ErrorCode.NON_MANIFOLD
    assert "encloses no volume" in error.value.message


def test_a_mesh_with_no_faces() -> None:
    with pytest.raises(StepError) as error:
        run(retopo_meshes.empty_mesh(), SMALL)
    assert error.value.code == ErrorCode.EMPTY_MESH


def test_bytes_that_are_not_a_glb() -> None:
    with pytest.raises(StepError) as error:
        run(b"not a glb at all", SMALL)
    assert error.value.code == ErrorCode.INVALID_INPUT


def test_closest_points_match_brute_force() -> None:
    positions, faces = retopo_meshes.figure(16)
    rng = np.random.default_rng(5)
    points = positions[rng.integers(0, len(positions), 200)] + rng.normal(scale=0.05, size=(200, 3))
    hits = meshops.SurfaceIndex(positions, faces, candidates=len(faces)).closest(points)
    corners = positions[faces]
    for point, distance in zip(points, hits.distances, strict=True):
        repeated = np.repeat(point[None], len(faces), axis=0)
        bary = meshops.closest_on_triangles(repeated, corners[:, 0], corners[:, 1], corners[:, 2])
        nearest = np.einsum("ij,ijk->ik", bary, corners)
        assert distance == pytest.approx(np.linalg.norm(nearest - point, axis=1).min(), abs=1e-9)
        assert (bary >= -1e-9).all() and np.allclose(bary.sum(axis=1), 1.0)


def test_rasterised_texels_lie_inside_their_triangles() -> None:
    # A square of two triangles, and a sliver along its diagonal that must not claim texels.
    uvs = np.array([[0.1, 0.1], [0.8, 0.1], [0.1, 0.8], [0.8, 0.8], [0.45, 0.4505]], np.float32)
    faces = np.array([[0, 1, 2], [1, 3, 2], [1, 4, 2]])
    texels = rasterise(faces, uvs, 64)
    corners = uvs[faces[texels.faces]].astype(np.float64) * 64 - 0.5
    centres = np.einsum("ij,ijk->ik", texels.barycentric, corners)
    assert np.allclose(centres, np.column_stack([texels.cols, texels.rows]), atol=1e-9)
    assert (texels.barycentric >= 0).all()
    covered = np.zeros((64, 64), bool)
    covered[texels.rows, texels.cols] = True
    assert covered.sum() == 45 * 45  # texel centres 6..50 on both axes
    assert (texels.faces == 2).sum() == 0


def test_quads_split_along_their_shorter_diagonal() -> None:
    positions = np.array([[0, 0, 0], [2, 0, 0], [2.2, 1, 0], [0, 1, 0], [3, 0, 0]], np.float64)
    triangles, quads = triangulate(positions, np.array([4, 3]), np.array([0, 1, 2, 3, 1, 4, 2]))
    assert quads == 1
    assert triangles.tolist() == [[0, 1, 3], [1, 2, 3], [1, 4, 2]]


# --- blender backend -------------------------------------------------------------------------

needs_bpy = pytest.mark.skipif(not bpy_available(), reason="bpy is not installed")


@pytest.mark.blender
@needs_bpy
def test_blender_quadriflow_lod0_is_quads_watertight_and_symmetric() -> None:
    backend = BlenderBackend()
    backend.load()
    output = run(retopo_meshes.two_coloured_figure(), {"face_target": 800, "texture_size": 256}, backend)
    metrics = output.metrics
    assert metrics["quads"] > 0.85 * metrics["faces"]  # the rest: triangles and pentagons on the seam
    assert metrics["triangles"] >= 2 * metrics["quads"] + (metrics["faces"] - metrics["quads"])
    assert abs(metrics["faces"] - 800) <= 80
    lods = meshes(output)
    lod0 = lods["mesh"]
    assert meshops.is_closed_manifold(meshops.weld(lod0.positions, lod0.faces)[1])
    distances, _ = cKDTree(lod0.positions).query(lod0.positions * (-1.0, 1.0, 1.0))
    assert distances.max() < 1e-4
    assert abs(lods["lod2"].face_count - 200) <= 20
