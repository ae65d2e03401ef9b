"""retopo's `instant_meshes` backend (quad-dominant, CPU) and the polygon helpers it uses."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from scipy.spatial import cKDTree

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.worker.backend import StepOutput
from services.retopo.backends.instant_meshes import InstantMeshesBackend
from services.retopo.polygons import Polygons, holes_filled, mirrored_whole, outward, triangulate
from tests.support import retopo_meshes
from tests.support.retopo_meshes import retopo_request
from tests.support.steps import no_progress, run_step_function

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGET = 1000
SMALL = {"face_target": TARGET, "texture_size": 256}


def run(data: bytes) -> StepOutput:
    """The step function (its quality gates included) around the backend."""
    return run_step_function(InstantMeshesBackend(), retopo_request(data, SMALL), no_progress)


@cache
def figure_output() -> StepOutput:
    return run(retopo_meshes.two_coloured_figure())


@cache
def blob_output() -> StepOutput:
    return run(retopo_meshes.lopsided_blob())


@pytest.mark.parametrize("output", [figure_output, blob_output], ids=["symmetric", "asymmetric"])
def test_lod0_is_quad_dominant_watertight_and_on_target(output: Callable[[], StepOutput]) -> None:
    metrics = output().metrics
    assert metrics["quads"] >= 0.9 * metrics["faces"]
    assert abs(metrics["faces"] - TARGET) <= 0.1 * TARGET
    # every quad is two triangles, every other polygon at least one
    assert metrics["triangles"] >= 2 * metrics["quads"] + (metrics["faces"] - metrics["quads"])
    lod0 = read_glb(output().files[0].data).mesh
    positions, faces = meshops.weld(lod0.positions, lod0.faces)
    assert meshops.is_closed_manifold(faces)
    assert meshops.signed_volume(positions, faces) > 0


def test_a_symmetric_input_gives_a_mirror_symmetric_quad_mesh() -> None:
    output = figure_output()
    assert output.metrics["symmetric"] == 1.0
    lod0 = read_glb(output.files[0].data).mesh
    distances, _ = cKDTree(lod0.positions).query(lod0.positions * (-1.0, 1.0, 1.0))
    assert distances.max() < 1e-5


def test_the_lod0_stays_close_to_the_input() -> None:
    positions, faces = retopo_meshes.figure()
    lod0 = read_glb(figure_output().files[0].data).mesh
    points = meshops.sample_surface(lod0.positions, lod0.faces, 4000, seed=0)
    distances = meshops.SurfaceIndex(positions, faces, candidates=8).closest(points).distances
    assert distances.max() < 0.02 * np.linalg.norm(np.ptp(positions, axis=0))


def test_same_input_same_bytes() -> None:
    again = run(retopo_meshes.lopsided_blob())
    assert [f.data for f in again.files] == [f.data for f in blob_output().files]


def test_instant_meshes_logging_stays_off_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    run(retopo_meshes.glb(*retopo_meshes.figure(16)))
    assert capfd.readouterr().out == ""


# --- polygon helpers -------------------------------------------------------------------------


def cube_quads() -> Polygons:
    """A unit cube centred on the origin as six outward quads."""
    positions = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    return Polygons(positions, np.full(6, 4), np.array(quads).reshape(-1))


def test_quads_become_adjacent_triangle_pairs() -> None:
    cube = cube_quads()
    triangles, quads = triangulate(cube.positions, cube.sizes, cube.corners)
    assert quads == 6 and len(triangles) == 12
    for quad in range(6):
        pair = set(triangles[2 * quad].tolist()) | set(triangles[2 * quad + 1].tolist())
        assert pair == set(cube.corners[4 * quad : 4 * quad + 4].tolist())
    assert meshops.is_closed_manifold(triangles)
    assert meshops.signed_volume(cube.positions, triangles) == pytest.approx(1.0)


def test_a_missing_face_is_filled_with_the_right_winding() -> None:
    cube = cube_quads()
    open_cube = cube.kept(np.arange(6) != 2)
    filled = holes_filled(open_cube)
    assert filled.sizes.tolist() == [4] * 6
    triangles, _ = triangulate(filled.positions, filled.sizes, filled.corners)
    assert meshops.is_closed_manifold(triangles)
    assert meshops.signed_volume(filled.positions, triangles) == pytest.approx(1.0)


def test_a_half_is_mirrored_into_a_closed_symmetric_whole() -> None:
    cube = cube_quads()
    half = Polygons(cube.positions + np.array([0.5, 0.0, 0.0]), cube.sizes, cube.corners).kept(
        np.arange(6) != 0
    )
    # the open rim sits a little off the plane, as Instant Meshes leaves it
    half.positions[half.positions[:, 0] == 0.0, 0] = 0.01
    whole = outward(mirrored_whole(half, seam_snap=0.05))
    triangles, quads = triangulate(whole.positions, whole.sizes, whole.corners)
    assert quads == 10 and len(whole.positions) == 12
    assert meshops.is_closed_manifold(triangles)
    assert meshops.signed_volume(whole.positions, triangles) == pytest.approx(2.0)
    assert np.allclose(np.sort(whole.positions[:, 0]), np.sort(-whole.positions[:, 0]))


def test_an_inside_out_mesh_is_turned_outward() -> None:
    inside_out = cube_quads().reversed()
    triangles, _ = triangulate(inside_out.positions, inside_out.sizes, inside_out.corners)
    assert meshops.signed_volume(inside_out.positions, triangles) == pytest.approx(-1.0)
    fixed = outward(inside_out)
    triangles, _ = triangulate(fixed.positions, fixed.sizes, fixed.corners)
    assert meshops.signed_volume(fixed.positions, triangles) == pytest.approx(1.0)


def test_two_quads_around_a_valence_2_vertex_do_not_share_a_diagonal() -> None:
    # vertex 3 joins only the two quads, which both have the short diagonal 0-2
    positions = np.array([[0, 0, 0], [1, -3, 0], [2, 0, 0], [1, 0.2, 0], [1, 3, 0]], np.float64)
    triangles, quads = triangulate(positions, np.array([4, 4]), np.array([0, 1, 2, 3, 0, 3, 2, 4]))
    assert quads == 2
    edges = np.sort(meshops.directed_edges(triangles), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    assert uses.max() <= 2
