"""field_mesh: any scalar field -> one closed, outward-wound component the image3d gate accepts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from assetcore.geometry import meshops
from assetcore.worker.backend import ErrorCode, StepError
from services.image3d.field_mesh import FieldMesh, extract_surface

pytestmark = pytest.mark.ml

AXIS = np.linspace(-1.0, 1.0, 32)
X, Y, Z = np.meshgrid(AXIS, AXIS, AXIS, indexing="ij")


def distance(cx: float, cy: float = 0.0, cz: float = 0.0) -> npt.NDArray[np.float64]:
    return np.asarray(np.sqrt((X - cx) ** 2 + (Y - cy) ** 2 + (Z - cz) ** 2))


def assert_one_closed_component(mesh: FieldMesh) -> None:
    positions, faces = meshops.weld(mesh.positions.astype(np.float32), mesh.faces)  # as a GLB stores it
    assert meshops.is_closed_manifold(faces)
    assert meshops.components(faces, len(positions))[0] == 1
    assert meshops.signed_volume(positions, faces) > 0


def test_a_sphere_sdf_gives_the_sphere() -> None:
    mesh = extract_surface(distance(0.0) - 0.6, 0.0, inside="below", backend="test")
    assert_one_closed_component(mesh)
    radii = np.linalg.norm(mesh.positions, axis=1)
    assert radii.min() > 0.57 and radii.max() < 0.63
    assert meshops.signed_volume(mesh.positions, mesh.faces) == pytest.approx(
        4 / 3 * np.pi * 0.6**3, rel=0.05
    )


def test_axes_follow_the_grid_and_the_bounds() -> None:
    mesh = extract_surface(0.3 - distance(0.5, -0.2, 0.0), 0.0, lower=(0, 0, 0), upper=(2, 4, 6), backend="t")
    centre = (mesh.positions.min(axis=0) + mesh.positions.max(axis=0)) / 2
    assert centre == pytest.approx([1.5, 1.6, 3.0], abs=0.05)  # x, y, z scaled by 1, 2, 3


def test_of_two_blobs_the_largest_is_kept() -> None:
    field = np.maximum(0.5 - distance(0.4), 0.25 - distance(-0.6))
    mesh = extract_surface(field, 0.0, backend="test")
    assert_one_closed_component(mesh)
    assert mesh.positions[:, 0].min() > -0.15  # nothing of the small blob at x = -0.6


def test_a_cavity_is_filled() -> None:
    shell = (distance(0.0) < 0.7) & (distance(0.0) > 0.4)
    mesh = extract_surface(shell.astype(np.float64), 0.5, backend="test")
    assert_one_closed_component(mesh)
    assert np.linalg.norm(mesh.positions, axis=1).min() > 0.6


def test_a_solid_touching_the_grid_boundary_is_closed() -> None:
    mesh = extract_surface(1.0 - np.abs(X), 0.5, backend="test")  # a slab through the whole grid
    assert_one_closed_component(mesh)
    assert mesh.positions[:, 1].min() < -1.0 and mesh.positions[:, 1].max() > 1.0


@pytest.mark.parametrize("field", [np.zeros((8, 8, 8)), np.ones((8, 8, 8)), np.full((8, 8, 8), np.nan)])
def test_no_surface_is_an_empty_mesh_naming_the_backend(field: npt.NDArray[np.float64]) -> None:
    with pytest.raises(StepError) as caught:
        extract_surface(field, 0.5, backend="triposr")
    assert caught.value.code == ErrorCode.EMPTY_MESH
    assert caught.value.message.startswith("triposr: no surface at level 0.5")


@pytest.mark.parametrize("smoothing", [0.0, 1.5])
def test_noise_gives_one_closed_component(smoothing: float) -> None:
    noise = np.random.default_rng(7).normal(size=(20, 20, 20))
    field = ndimage.gaussian_filter(noise, smoothing) if smoothing else noise
    assert_one_closed_component(extract_surface(field, 0.0, backend="test"))


def test_exponential_densities_far_from_the_level_still_weld_cleanly() -> None:
    density = np.exp(12.0 * (0.7 - distance(0.05, 0.02, -0.03)))  # 0 .. 4e3, surface at 25
    mesh = extract_surface(density, 25.0, backend="test")
    assert_one_closed_component(mesh)
    assert np.linalg.norm(mesh.positions - [0.05, 0.02, -0.03], axis=1).mean() == pytest.approx(
        0.7 - np.log(25.0) / 12.0, abs=0.02
    )
