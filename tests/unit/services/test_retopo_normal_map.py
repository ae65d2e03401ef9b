"""retopo normal maps: tangent frames, the bake's conventions, and a bumpy sphere decoded back."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import trimesh
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Mesh, Model
from services.retopo.backends.decimate import DecimateBackend
from services.retopo.bake import bake_maps, rasterise
from services.retopo.colour_source import ColourSource
from services.retopo.normal_map import NormalSource, vertex_tangents
from services.retopo.unwrap import unwrap
from tests.support import retopo_meshes
from tests.support.gltf_validator import assert_valid_glb
from tests.support.retopo_meshes import retopo_request
from tests.support.steps import no_progress, run_step_function

os.environ.setdefault("OMP_NUM_THREADS", "1")

SIZE = 64
BUMP, WAVES = 0.05, 8.0  # the bumpy sphere: radius 1 + BUMP * sin(WAVES x) sin(WAVES y) sin(WAVES z)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.float64) / 255.0


def grid(cells: int, height: float = 0.0, tilt: tuple[float, float] = (0.0, 0.0)) -> Mesh:
    """The square 0..1 in x and y at z = height + tilt . (x, y), cells x cells quads."""
    steps = np.linspace(0.0, 1.0, cells + 1)
    x, y = (a.reshape(-1) for a in np.meshgrid(steps, steps))
    positions = np.column_stack([x, y, height + tilt[0] * x + tilt[1] * y])
    corner = (np.arange(cells)[:, None] * (cells + 1) + np.arange(cells)[None, :]).reshape(-1)
    faces = np.concatenate(
        [
            np.column_stack([corner, corner + 1, corner + cells + 2]),
            np.column_stack([corner, corner + cells + 2, corner + cells + 1]),
        ]
    )
    return Mesh(positions=positions.astype(np.float32), faces=faces.astype(np.uint32))


def bake_on_square(source: Mesh, *, mirrored: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A two-triangle square at z = 0, UVs u = x (1 - x mirrored), v = 1 - y (the image's top is +y),
    baked from `source`: its tangents and normal-map pixels."""
    low = grid(1)
    positions = low.positions.astype(np.float64)
    faces = low.faces.astype(np.int64)
    u = 1.0 - positions[:, 0] if mirrored else positions[:, 0]
    uvs = np.column_stack([u, 1.0 - positions[:, 1]]).astype(np.float32)
    normals = np.tile(np.float32([0.0, 0.0, 1.0]), (len(positions), 1))
    baked = bake_maps(positions, normals, faces, uvs, ColourSource(source), NormalSource(source), SIZE)
    return baked.tangents, pixels(baked.normal_png)


@pytest.mark.parametrize("mirrored", [False, True])
def test_a_flat_source_bakes_to_straight_up_everywhere(mirrored: bool) -> None:
    tangents, image = bake_on_square(grid(8, height=0.01), mirrored=mirrored)
    np.testing.assert_allclose(tangents[:, :3], [[-1.0 if mirrored else 1.0, 0.0, 0.0]] * 4, atol=1e-6)
    np.testing.assert_array_equal(tangents[:, 3], -1.0 if mirrored else 1.0)
    np.testing.assert_allclose(image.reshape(-1, 3), [[0.5, 0.5, 1.0]] * SIZE * SIZE, atol=1.0 / 255.0)


@pytest.mark.parametrize(("tilt", "expected"), [((0.3, 0.0), (-0.3, 0.0)), ((0.0, 0.3), (0.0, -0.3))])
def test_a_tilted_source_leans_the_normals_along_u_and_up_the_texture(
    tilt: tuple[float, float], expected: tuple[float, float]
) -> None:
    """z = 0.3 x has the normal (-0.3, 0, 1): red below half. Green is +Y, the texture's top (+y)."""
    _, image = bake_on_square(grid(8, height=-0.15, tilt=tilt))
    normal = np.array([*expected, 1.0]) / np.linalg.norm([*expected, 1.0])
    np.testing.assert_allclose(image.reshape(-1, 3), [normal * 0.5 + 0.5] * SIZE * SIZE, atol=1.5 / 255.0)


def test_tangents_are_unit_orthogonal_and_follow_u() -> None:
    positions, faces = retopo_meshes.figure(16)
    layout = unwrap(positions, faces, 256)
    points = positions[layout.source_vertex]
    normals = meshops.vertex_normals(points, layout.faces)
    tangents = vertex_tangents(points, normals, layout.faces, layout.uvs)
    np.testing.assert_allclose(np.linalg.norm(tangents[:, :3], axis=1), 1.0, atol=1e-6)
    assert set(np.unique(tangents[:, 3])) <= {-1.0, 1.0}
    np.testing.assert_allclose(np.einsum("ij,ij->i", tangents[:, :3], normals), 0.0, atol=1e-5)
    # along each triangle's edges, u grows where the tangent points
    corners = points[layout.faces]
    edges = corners[:, 1] - corners[:, 0]
    du = layout.uvs[layout.faces[:, 1], 0] - layout.uvs[layout.faces[:, 0], 0]
    along = np.einsum("ij,ij->i", edges, tangents[layout.faces[:, 0], :3])
    steep = np.abs(du) > 1e-3
    assert (np.sign(along[steep]) == np.sign(du[steep])).mean() > 0.95


def bumpy_sphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """An icosphere moved onto the bumpy surface (fixed-point iteration along each radius)."""
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    directions = np.asarray(sphere.vertices, np.float64)
    radius = np.ones(len(directions))
    for _ in range(30):
        radius = 1.0 + BUMP * np.prod(np.sin(WAVES * radius[:, None] * directions), axis=1)
    return radius[:, None] * directions, np.asarray(sphere.faces, np.int64)


def bumpy_normals(points: np.ndarray) -> np.ndarray:
    """The bumpy surface's unit normals at the radial projections of `points`."""
    directions = points / np.linalg.norm(points, axis=1, keepdims=True)
    radius = np.ones(len(points))
    for _ in range(30):
        radius = 1.0 + BUMP * np.prod(np.sin(WAVES * radius[:, None] * directions), axis=1)
    on = radius[:, None] * directions
    sines, cosines = np.sin(WAVES * on), np.cos(WAVES * on)
    gradient = (
        BUMP
        * WAVES
        * np.column_stack(
            [
                cosines[:, 0] * sines[:, 1] * sines[:, 2],
                sines[:, 0] * cosines[:, 1] * sines[:, 2],
                sines[:, 0] * sines[:, 1] * cosines[:, 2],
            ]
        )
    )
    normals = directions - gradient  # gradient of |p| - 1 - BUMP g(p)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def angles(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", first, second), -1.0, 1.0)))


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_bumpy_sphere_baked_onto_a_smooth_one_decodes_to_the_bumps() -> None:
    high_positions, high_faces = bumpy_sphere(5)
    high = Mesh(positions=high_positions.astype(np.float32), faces=high_faces.astype(np.uint32))
    low_positions, low_faces = bumpy_sphere(2)
    low_positions /= np.linalg.norm(low_positions, axis=1, keepdims=True)  # a plain sphere
    layout = unwrap(low_positions, low_faces, 256)
    positions = low_positions[layout.source_vertex]
    normals = meshops.vertex_normals(low_positions, low_faces)[layout.source_vertex]
    baked = bake_maps(
        positions, normals, layout.faces, layout.uvs, ColourSource(high), NormalSource(high), 256
    )
    mesh = Mesh(
        positions=positions.astype(np.float32),
        faces=layout.faces.astype(np.uint32),
        normals=normals,
        uvs=layout.uvs,
        texture_png=baked.colour_png,
        tangents=baked.tangents,
        normal_png=baked.normal_png,
    )
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    back = read_glb(data).mesh
    assert back.tangents is not None and back.normals is not None and back.normal_png is not None
    # decode as a glTF shader does: the interpolated frame, each axis normalized, times the texel
    texels = rasterise(layout.faces, layout.uvs, 256)
    corners, weights = layout.faces[texels.faces], texels.barycentric

    def mixed(values: np.ndarray) -> np.ndarray:
        return unit(np.einsum("ij,ijk->ik", weights, values[corners]))

    bitangents = np.cross(back.normals, back.tangents[:, :3]) * back.tangents[:, 3:]
    frame = np.stack([mixed(back.tangents[:, :3]), mixed(bitangents), mixed(back.normals)], axis=2)
    texel = pixels(back.normal_png)[texels.rows, texels.cols] * 2.0 - 1.0
    decoded = unit(np.einsum("ijk,ik->ij", frame, texel))
    truth = bumpy_normals(np.einsum("ij,ijk->ik", weights, positions[corners]))
    baked_error, smooth_error = angles(decoded, truth), angles(mixed(normals), truth)
    # Measured: baked median 0.46 deg (95th percentile 1.1), the smooth sphere's own normals 10.2 deg.
    assert np.median(smooth_error) > 6.0
    assert np.median(baked_error) < 1.5
    assert np.percentile(baked_error, 95) < 3.0


def test_every_lod_carries_tangents_and_a_valid_normal_map() -> None:
    request = retopo_request(retopo_meshes.two_coloured_figure(), {"face_target": 600, "texture_size": 256})
    output = run_step_function(DecimateBackend(), request, no_progress)
    for file in output.files:
        assert_valid_glb(file.data, strict=True)
        mesh = read_glb(file.data).mesh
        assert mesh.tangents is not None and mesh.normal_png is not None and mesh.texture_png is not None
        assert pixels(mesh.normal_png).shape == pixels(mesh.texture_png).shape
        np.testing.assert_allclose(np.linalg.norm(mesh.tangents[:, :3], axis=1), 1.0, atol=1e-6)
        assert set(np.unique(mesh.tangents[:, 3])) <= {-1.0, 1.0}
        # a smooth figure baked from itself: the map is mostly "straight up"
        assert np.median(pixels(mesh.normal_png)[..., 2]) > 0.95
