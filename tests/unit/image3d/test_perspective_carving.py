"""image3d's carving of the concept's inflated solid by the ML path's perspective views
(Zero123++ cameras, framing fitted): depth comes back where the views show it, and a view that
is wrong does not destroy the subject."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.camera import Camera
from assetcore.geometry.gltf import read_glb
from assetcore.multiview import Multiview, View, encode_multiview_png
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepOutput
from services.image3d.backends.inflate import InflateBackend
from services.image3d.carving import Carving, carve
from services.image3d.silhouette import fit_grid
from services.image3d.volume import InflationField, ViewMesh, inflation_field, surface
from tests.support import concept_images
from tests.support import multiview_images as mv
from tests.support.steps import no_progress, run_step_function, step_request

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESOLUTION = 48
TILE = 64
RED, GREEN = (200, 30, 30), (30, 200, 30)
BOX = mv.box((0.5, 0.5, 0.2))  # as deep as 0.4 of its height; the inflated lens is about 0.87


def rod_box(p: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """The box with a thin rod sticking out to the right (a sword held out)."""
    rod = (p[..., 0] > 0) & (p[..., 0] < 0.8) & (np.abs(p[..., 1]) < 0.05) & (np.abs(p[..., 2]) < 0.05)
    return np.asarray(BOX(p) | rod)


def concept_alpha(solid: mv.Solid) -> npt.NDArray[np.float32]:
    front = mv.orthographic_views(solid, mv.plain(RED), tile=TILE).views[0]
    return np.asarray(front.rgba[..., 3], np.float32) / 255.0


def inflated(solid: mv.Solid) -> InflationField:
    return inflation_field(fit_grid(concept_alpha(solid), RESOLUTION), 1.0)


@cache
def views_of(solid: mv.Solid) -> Multiview:
    return mv.perspective_views(solid, mv.front_and_back(RED, GREEN), tile=TILE)


def carved(solid: mv.Solid, views: Multiview | None = None) -> Carving:
    return carve(views or views_of(solid), RESOLUTION, solid=inflated(solid))


def extents(mesh: ViewMesh) -> npt.NDArray[np.float64]:
    """Width, height and depth as shares of the height."""
    extent = np.ptp(mesh.positions, axis=0)
    return np.asarray(extent / extent[1])


def closed_single(mesh: ViewMesh) -> bool:
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    return meshops.is_closed_manifold(faces) and meshops.components(faces, len(positions))[0] == 1


def with_view(
    views: Multiview, index: int, alpha: Callable[[npt.NDArray[np.uint8]], npt.ArrayLike]
) -> Multiview:
    """The views with one view's matte replaced."""
    tiles = list(views.views)
    rgba = tiles[index].rgba.copy()
    rgba[..., 3] = np.asarray(alpha(rgba[..., 3]), np.uint8)
    tiles[index] = View(tiles[index].azimuth_deg, tiles[index].elevation_deg, rgba)
    return replace(views, views=tuple(tiles))


def half_size(alpha: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.pad(np.asarray(Image.fromarray(alpha).resize((TILE // 2, TILE // 2))), TILE // 4)


def test_perspective_pixels_and_points_are_inverse() -> None:
    camera = Camera.orbit(150.0, 20.0, 30.0)
    points = np.random.default_rng(1).uniform(-0.7, 0.7, (50, 3))
    row, column, depth = camera.perspective_pixels(points, 3.0, TILE)
    assert np.allclose(camera.perspective_points(row, column, depth, 3.0, TILE), points)
    # The origin sits at the tile's centre, and a 30-degree view spans the tile.
    centre = camera.perspective_pixels(np.zeros((1, 3)), 3.0, TILE)
    assert np.allclose([centre[0][0], centre[1][0]], TILE / 2)
    assert camera.focal_px(TILE) == pytest.approx(TILE / 2 / np.tan(np.radians(15.0)))


def test_a_box_carves_the_inflated_lens_back_to_box_like_depth() -> None:
    before = extents(surface(inflated(BOX)))
    carving = carved(BOX)
    after = extents(carving.mesh)
    assert closed_single(carving.mesh) and carving.notes == ()
    assert before[2] > 0.8  # the lens
    # Six views from 3 units away see the middle of a 0.4-deep box as up to about 0.53 deep.
    assert 0.4 <= after[2] < 0.65
    assert after[0] == pytest.approx(1.0, abs=0.03)
    # Box-like, not a lens: near the left and right sides it is about as deep as in the middle.
    p = carving.mesh.positions / np.ptp(carving.mesh.positions[:, 1])
    middle = np.abs(p[:, 1]) < 0.1
    side = middle & (np.abs(p[:, 0]) > 0.3) & (np.abs(p[:, 0]) < 0.4)
    assert np.abs(p[side, 2]).max() > 0.85 * np.abs(p[middle, 2]).max()


def test_a_thin_disc_stays_thin() -> None:
    disc = mv.disc(0.5, 0.04)
    before, after = extents(surface(inflated(disc))), extents(carved(disc).mesh)
    assert before[2] > 0.7
    assert after[2] < 0.25  # 0.08 deep, plus the mattes' dilation (1.5 px of a 64 px tile each side)
    assert after[0] == pytest.approx(1.0, abs=0.03)


def test_an_empty_view_and_one_at_another_scale_are_skipped_with_a_note() -> None:
    views = with_view(views_of(BOX), 0, np.zeros_like)
    views = with_view(views, 3, half_size)
    carving = carved(BOX, views)
    after = extents(carving.mesh)
    assert closed_single(carving.mesh)
    assert after[0] == pytest.approx(1.0, abs=0.03) and after[2] < 0.7  # the other four still carve
    empty, smaller = carving.notes
    assert empty == "the view at azimuth 30, elevation 20 was not used for carving: its matte is empty"
    assert smaller.startswith(
        "the view at azimuth 210, elevation -10 was not used for carving: its subject is 0.5"
    )


def test_a_shifted_or_cut_matte_does_not_cut_the_subject() -> None:
    views = with_view(views_of(BOX), 2, lambda a: np.roll(a, TILE // 8, axis=1))  # the fit undoes it
    views = with_view(views, 3, lambda a: np.where(np.arange(TILE) < TILE // 2, a, 0))  # half missing
    carving = carved(BOX, views)
    after = extents(carving.mesh)
    assert closed_single(carving.mesh) and carving.notes == ()
    assert after[0] == pytest.approx(1.0, abs=0.03) and after[2] < 0.65
    assert meshops.signed_volume(carving.mesh.positions, carving.mesh.faces) == pytest.approx(
        meshops.signed_volume(carved(BOX).mesh.positions, carved(BOX).mesh.faces), rel=0.05
    )


def test_what_the_concept_shows_is_kept_when_views_miss_it() -> None:
    # Two views lose the rod: it is outside their mattes, but the concept image shows it.
    views = views_of(rod_box)
    for index in (0, 5):
        views = replace(
            views, views=(*views.views[:index], views_of(BOX).views[index], *views.views[index + 1 :])
        )
    carving = carved(rod_box, views)
    p = carving.mesh.positions / np.ptp(carving.mesh.positions[:, 1])
    assert p[:, 0].max() - p[:, 0].min() == pytest.approx(1.3, abs=0.04)  # the rod's tip is still there
    assert closed_single(carving.mesh)


def run(image: bytes, views: Multiview | None) -> StepOutput:
    inputs = {"image": InputFile("image", "image/png", image, "0" * 64)}
    if views is not None:
        inputs["views"] = InputFile("views", "image/png", encode_multiview_png(views), "1" * 64)
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a rock"))
    return run_step_function(
        InflateBackend(), step_request("image3d", job, {"resolution": 64}, 1, inputs), no_progress
    )


def test_the_inflate_backend_carves_with_perspective_views_and_colours_from_them() -> None:
    front = mv.orthographic_views(BOX, mv.front_and_back(RED, GREEN), tile=TILE).views[0]
    image = concept_images.png(
        Image.fromarray(front.rgba, mode="RGBA").resize((4 * TILE, 4 * TILE), Image.Resampling.NEAREST),
        view="front",
        category="prop",
        subject="rock",
    )
    plain, with_views = run(image, None), run(image, views_of(BOX))
    assert plain.metrics["depth_m"] > 0.75 and with_views.metrics["depth_m"] < 0.65  # a 1 m rock, 0.4 m deep
    assert with_views.metrics["width_m"] == pytest.approx(plain.metrics["width_m"], rel=0.03)
    assert any("perspective views" in note for note in with_views.notes)
    mesh = read_glb(with_views.files[0].data).mesh
    assert mesh.colors is not None and mesh.normals is not None
    back = mesh.normals[:, 2] < -0.7
    assert float((mesh.colors[back, 1] > mesh.colors[back, 0]).mean()) > 0.9  # green behind
