"""projection: vertex colours from the concept image and, where the job has them, the six views."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from assetcore.geometry import meshops
from assetcore.multiview import Multiview, View
from services.image3d.concept import ConceptImage
from services.image3d.field_mesh import extract_surface
from services.image3d.projection import colour_vertices

pytestmark = pytest.mark.ml

AXIS = np.linspace(-1.0, 1.0, 24)
X, Y, Z = np.meshgrid(AXIS, AXIS, AXIS, indexing="ij")
SPHERE = extract_surface(0.7 - np.sqrt(X**2 + Y**2 + Z**2), 0.0, backend="test")
NORMALS = meshops.vertex_normals(SPHERE.positions, SPHERE.faces)
RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def concept(rgb: npt.NDArray[np.float32]) -> ConceptImage:
    alpha = np.zeros(rgb.shape[:2], np.float32)
    alpha[8:56, 8:56] = 1.0
    return ConceptImage(rgb, alpha, "front", True, "prop", "rock", ())


def disc_view(azimuth: float, colour: tuple[float, float, float]) -> View:
    rgba = np.zeros((48, 48, 4), np.uint8)
    yy, xx = np.mgrid[:48, :48]
    rgba[(yy - 23.5) ** 2 + (xx - 23.5) ** 2 < 20**2] = (*(int(255 * c) for c in colour), 255)
    return View(azimuth, 0.0, rgba)


def test_the_concept_maps_image_right_to_x_and_up_to_y() -> None:
    rgb = np.zeros((64, 64, 3), np.float32)
    rgb[:, 32:] = BLUE  # image right
    rgb[:32, :32] = RED  # top left
    rgb[32:, :32] = GREEN  # bottom left
    colours = colour_vertices(SPHERE.positions, NORMALS, concept(rgb), None)
    p = SPHERE.positions
    assert colours.shape == (len(p), 4) and colours.dtype == np.float32
    assert np.allclose(colours[p[:, 0] > 0.2, :3], BLUE, atol=1e-3)
    assert np.allclose(colours[(p[:, 0] < -0.2) & (p[:, 1] > 0.2), :3], RED, atol=1e-3)
    assert np.allclose(colours[(p[:, 0] < -0.2) & (p[:, 1] < -0.2), :3], GREEN, atol=1e-3)


def test_each_side_takes_the_view_that_faces_it() -> None:
    views = Multiview(tuple(disc_view(a, c) for a, c in [(90, RED), (180, GREEN), (270, BLUE)] * 2))
    colours = colour_vertices(
        SPHERE.positions, NORMALS, concept(np.full((64, 64, 3), 0.5, np.float32)), views
    )
    grey = meshops.srgb_to_linear(np.array([0.5]))[0]
    front, left, back, right = (NORMALS @ d > 0.9 for d in np.eye(3)[[2, 0, 2, 0]] * [[1], [1], [-1], [-1]])
    assert np.allclose(colours[front, :3], grey, atol=1e-3)  # the concept image
    assert np.allclose(colours[left, :3], RED, atol=1e-3)  # azimuth 90: +X, the subject's left
    assert np.allclose(colours[back, :3], GREEN, atol=1e-3)
    assert np.allclose(colours[right, :3], BLUE, atol=1e-3)


def test_hidden_vertices_do_not_take_a_view_that_cannot_see_them() -> None:
    # Two spheres one behind the other along +X: the far one is hidden from the +X camera.
    near = extract_surface(0.3 - np.sqrt((X - 0.5) ** 2 + Y**2 + Z**2), 0.0, backend="test")
    far = near.positions - [1.0, 0.0, 0.0]
    positions = np.concatenate([near.positions, far])
    faces = np.concatenate([near.faces, near.faces + len(near.positions)])
    normals = meshops.vertex_normals(positions, faces)
    views = Multiview(tuple(disc_view(90, RED) for _ in range(6)))
    colours = colour_vertices(positions, normals, concept(np.full((64, 64, 3), 0.0, np.float32)), views)
    facing = normals[:, 0] > 0.9
    hidden = facing & (positions[:, 0] < 0)
    assert np.allclose(colours[facing & ~hidden, :3], RED, atol=1e-3)
    assert np.allclose(colours[hidden, :3], 0.0, atol=1e-3)
