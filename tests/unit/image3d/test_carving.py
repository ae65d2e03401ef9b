"""image3d's carving from orthographic views: the visual hull, rounded; colours and materials
from the view that sees each vertex; the concept-only path unchanged."""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Mesh
from assetcore.multiview import Multiview, decode_multiview_png, encode_multiview_png
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, StepError, StepOutput
from services.image3d.backends.inflate import InflateBackend
from services.image3d.carving import carve
from services.image3d.volume import ViewMesh
from tests.support import concept_images
from tests.support import multiview_images as mv
from tests.support.steps import no_progress, run_step_function, step_request

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESOLUTION = 48
TILE = 64
PIXEL = 2.0 / TILE  # the views' extent is 1
FRONT, BACK = (200, 30, 30), (30, 200, 30)
# glTF metallicRoughness texels (R unused, G roughness, B metallic): iron in front, cloth behind.
IRON, CLOTH = (0, 77, 255), (0, 230, 0)


def closed_single(mesh: ViewMesh) -> bool:
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    return meshops.is_closed_manifold(faces) and meshops.components(faces, len(positions))[0] == 1


def sphere(radius: float) -> mv.Solid:
    return lambda p: (p**2).sum(axis=-1) <= radius**2


def test_the_hull_of_box_views_is_the_box() -> None:
    half = np.array([0.6, 0.4, 0.3])
    mesh = carve(
        mv.orthographic_views(mv.box((0.6, 0.4, 0.3)), mv.plain(FRONT), tile=TILE), RESOLUTION, box_like=True
    ).mesh
    assert closed_single(mesh)
    low, high = mesh.positions.min(axis=0), mesh.positions.max(axis=0)
    assert np.allclose(high, half, atol=1.5 * PIXEL) and np.allclose(low, -half, atol=1.5 * PIXEL)
    assert meshops.signed_volume(mesh.positions, mesh.faces) == pytest.approx(np.prod(2 * half), rel=0.1)


def test_a_round_body_comes_out_round_not_box_like() -> None:
    # Six axis views of a ball carve a tricylinder (corners 1.22 x the radius out); rounding
    # each horizontal slice inside its front x side rectangle gives the ball back.
    mesh = carve(mv.orthographic_views(sphere(0.7), mv.plain(FRONT), tile=TILE), RESOLUTION).mesh
    assert closed_single(mesh)
    radii = np.linalg.norm(mesh.positions, axis=1)
    assert np.abs(radii - 0.7).max() < 2.0 * PIXEL


def test_a_thin_disc_stays_a_thin_disc_with_flat_faces() -> None:
    mesh = carve(mv.orthographic_views(mv.disc(0.7, 0.04), mv.plain(FRONT), tile=TILE), RESOLUTION).mesh
    assert closed_single(mesh)
    extent = np.ptp(mesh.positions, axis=0)
    assert extent[0] == pytest.approx(1.4, abs=3 * PIXEL) and extent[1] == pytest.approx(1.4, abs=3 * PIXEL)
    assert extent[2] < 0.08 + 3 * PIXEL  # not a balloon
    # Not a lens either: near the left and right rims the faces are as far apart as in the middle.
    p = mesh.positions
    rim = (np.abs(p[:, 1]) < 0.1) & (np.abs(p[:, 0]) > 0.5) & (np.abs(p[:, 0]) < 0.6)
    assert np.abs(p[rim, 2]).max() > 0.9 * np.abs(p[:, 2]).max()


def body_views() -> tuple[Multiview, Multiview]:
    """A ball, red in front and green behind, iron in front and cloth behind."""
    solid = sphere(0.6)
    albedo = mv.orthographic_views(solid, mv.front_and_back(FRONT, BACK), tile=TILE)
    materials = mv.orthographic_views(solid, mv.front_and_back(IRON, CLOTH), tile=TILE)
    return albedo, materials


def concept_of(views: Multiview, index: int, **metadata: str) -> bytes:
    """The concept image as the drawer frames it: one of the views, larger."""
    tile = Image.fromarray(views.views[index].rgba, mode="RGBA")
    return concept_images.png(tile.resize((4 * TILE, 4 * TILE), Image.Resampling.NEAREST), **metadata)


def run(image: bytes, views: Multiview | None, materials: Multiview | None = None) -> StepOutput:
    inputs = {"image": InputFile("image", "image/png", image, "0" * 64)}
    for name, value in (("views", views), ("materials", materials)):
        if value is not None:
            inputs[name] = InputFile(name, "image/png", encode_multiview_png(value), "1" * 64)
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a rock"))
    return run_step_function(
        InflateBackend(), step_request("image3d", job, {"resolution": 64}, 1, inputs), no_progress
    )


def mesh_of(output: StepOutput) -> Mesh:
    return read_glb(output.files[0].data).mesh


@cache
def carved_body() -> Mesh:
    albedo, materials = body_views()
    image = concept_of(albedo, 0, view="front", category="prop", subject="rock")
    return mesh_of(run(image, albedo, materials))


def linear(rgb: tuple[int, int, int]) -> npt.NDArray[np.float64]:
    return np.asarray(meshops.srgb_to_linear(np.array(rgb) / 255.0))


def test_the_back_takes_its_colour_from_the_back_view() -> None:
    mesh = carved_body()
    assert mesh.colors is not None and mesh.normals is not None
    front, back = mesh.normals[:, 2] > 0.5, mesh.normals[:, 2] < -0.5
    assert np.allclose(np.median(mesh.colors[front, :3], axis=0), linear(FRONT), atol=0.01)
    assert np.allclose(np.median(mesh.colors[back, :3], axis=0), linear(BACK), atol=0.01)


def test_colours_blend_across_a_seam_instead_of_switching() -> None:
    red, green = (mv.orthographic_views(sphere(0.6), mv.plain(c), tile=TILE) for c in (FRONT, BACK))
    views = Multiview((red.views[0], green.views[1], *red.views[2:]), None, red.extent, red.layout)
    mesh = mesh_of(run(concept_of(views, 0, view="front", category="prop", subject="rock"), views))
    assert mesh.colors is not None and mesh.normals is not None
    n = mesh.normals
    assert np.allclose(np.median(mesh.colors[n[:, 2] > 0.9, :3], axis=0), linear(FRONT), atol=0.01)
    assert np.allclose(np.median(mesh.colors[n[:, 0] > 0.9, :3], axis=0), linear(BACK), atol=0.01)
    # Half way between the front and the left view both weigh about the same.
    seam = (np.abs(n[:, 0] - n[:, 2]) < 0.05) & (n[:, 0] > 0.6)
    mixed = np.median(mesh.colors[seam, :3], axis=0)
    assert np.allclose(mixed, (linear(FRONT) + linear(BACK)) / 2, atol=0.08)


def test_materials_are_projected_onto_the_vertices() -> None:
    mesh = carved_body()
    assert mesh.metal_rough is not None and mesh.normals is not None
    front, back = mesh.normals[:, 2] > 0.5, mesh.normals[:, 2] < -0.5
    assert np.allclose(np.median(mesh.metal_rough[front], axis=0), (1.0, 77 / 255), atol=0.01)
    assert np.allclose(np.median(mesh.metal_rough[back], axis=0), (0.0, 230 / 255), atol=0.01)


def test_the_carved_mesh_is_sized_and_stands_like_the_inflated_one() -> None:
    mesh = carved_body()
    extent = np.ptp(mesh.positions, axis=0)
    assert max(extent[0], extent[1]) == pytest.approx(1.0, abs=0.01)  # a rock's longest side
    assert mesh.positions[:, 1].min() == pytest.approx(0.0, abs=1e-6)
    assert extent[2] == pytest.approx(extent[0], rel=0.08)  # a ball, not a lens


def test_a_quadruped_drawn_head_along_z_faces_plus_z() -> None:
    # The drawer frames a side-view animal with its head along +Z: its concept is the view from
    # azimuth 270 (the head to the image's right).
    def animal(p: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        body = (np.abs(p[..., 0]) < 0.2) & (np.abs(p[..., 1]) < 0.2) & (np.abs(p[..., 2]) < 0.6)
        head = (p[..., 0] ** 2 + (p[..., 1] - 0.3) ** 2 + (p[..., 2] - 0.6) ** 2) < 0.25**2
        return np.asarray(body | head)

    views = mv.orthographic_views(animal, mv.plain((120, 120, 125)), tile=TILE)
    image = concept_of(views, 3, view="side", category="quadruped", subject="wolf", facing="+x")
    mesh = mesh_of(run(image, views))
    extent = np.ptp(mesh.positions, axis=0)
    assert extent[1] == pytest.approx(1.05, abs=0.01)  # the wolf's standing height
    assert extent[2] > 2 * extent[0]  # long along z
    assert mesh.positions[np.argmax(mesh.positions[:, 1]), 2] > 0  # the head at +z


def test_perspective_views_carve_the_inflated_mesh_and_colour_it() -> None:
    # The views show a narrower block than the chest: the concept image keeps the chest's outline
    # (see test_perspective_carving for what carving does to the depth).
    image = concept_images.chest_png()
    plain, coloured = run(image, None), run(image, decode_multiview_png(mv.back_green_views()))
    assert any("perspective views" in note for note in coloured.notes)
    for extent in ("width_m", "height_m"):
        assert coloured.metrics[extent] == pytest.approx(plain.metrics[extent], rel=0.02)
    back, front = mv.green_shares(coloured.files[0].data)
    assert back > 0.85 and front < 0.1  # the outer rims the views do not show come from the concept
    assert mv.green_shares(plain.files[0].data)[0] < 0.1


def test_materials_with_other_cameras_are_refused() -> None:
    albedo, materials = body_views()
    shifted = Multiview(materials.views, fov_deg=None, extent=2.0, layout=materials.layout)
    image = concept_of(albedo, 0, view="front", category="prop", subject="rock")
    with pytest.raises(StepError) as error:
        run(image, albedo, shifted)
    assert error.value.code == ErrorCode.INVALID_INPUT and "materials" in error.value.message
