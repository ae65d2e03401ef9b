"""image3d's rounding of parts lying along z: a quadruped's body comes out round from the front,
its legs and soles stay whole, and upright parts and feet are left alone."""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
import trimesh

from services.image3d.carving import carve
from services.image3d.lengthwise import lengthwise_cut
from services.image3d.volume import ViewMesh
from tests.support import multiview_images as mv

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESOLUTION = 64
TILE = 96
PIXEL = 2.0 / TILE  # the views' extent is 1


@cache
def quadruped_mesh() -> ViewMesh:
    return carve(mv.orthographic_views(mv.quadruped(), mv.plain((120, 120, 120)), tile=TILE), RESOLUTION).mesh


def section_loops(mesh: ViewMesh, normal: int, at: float) -> list[npt.NDArray[np.float64]]:
    """The closed loops where the plane `normal`-coordinate = `at` cuts the mesh, as 3D points."""
    origin = np.zeros(3)
    origin[normal] = at
    path = trimesh.Trimesh(mesh.positions, mesh.faces, process=False).section(np.eye(3)[normal], origin)
    assert path is not None
    return list(path.discrete)


def area(loop: npt.NDArray[np.float64], u: int, v: int) -> float:
    a, b = loop[:, u], loop[:, v]
    return float(abs(0.5 * np.sum(a * np.roll(b, -1) - np.roll(a, -1) * b)))


def test_the_body_of_a_quadruped_is_round_across() -> None:
    # The hull's mid-body slice is a square (area / (pi a b) = 4 / pi); the body is a cylinder.
    loops = section_loops(quadruped_mesh(), 2, 0.0)
    assert len(loops) == 1
    loop = loops[0]
    half_x, half_y = np.ptp(loop[:, 0]) / 2, np.ptp(loop[:, 1]) / 2
    assert half_x == pytest.approx(0.25, abs=2 * PIXEL) and half_y == pytest.approx(0.25, abs=2 * PIXEL)
    assert area(loop, 0, 1) / (np.pi * half_x * half_y) == pytest.approx(1.0, abs=0.06)


def test_the_legs_and_their_soles_stay_whole() -> None:
    mesh = quadruped_mesh()
    assert mesh.positions[:, 1].min() == pytest.approx(-0.6, abs=1.5 * PIXEL)
    for height in (-0.3, -0.55):  # mid-leg and just above the sole
        loops = section_loops(mesh, 1, height)
        assert len(loops) == 4
        # A box leg's horizontal section is rounded within its rectangle (hull.py): at least pi/4 of it.
        assert min(area(loop, 0, 2) for loop in loops) > 0.7 * 0.13 * 0.16


def test_upright_parts_are_not_cut_and_feet_keep_their_soles() -> None:
    # A post standing on a foot that reaches forward along z: the post is longer along y than
    # along z; the foot is longer along z than across, but it stands on the ground.
    inside = np.zeros((20, 40, 30), bool)
    inside[8:12, 2:38, 8:12] = True  # the post
    inside[7:13, 2:6, 8:28] = True  # the foot
    stadium, weight = lengthwise_cut(inside)
    assert not weight[:, 6:].any()
    assert (stadium[:, 2][inside[:, 2]] > 0).all()  # the sole
    assert stadium[7, 5, 24] < 0  # the toe's upper edge is rounded


def test_a_bar_along_z_is_cut_to_a_round_section() -> None:
    inside = np.zeros((12, 14, 40), bool)
    inside[2:10, 4:12, 2:38] = True  # an 8 x 8 bar along z
    inside[5:7, 1:4, 18:20] = True  # on a strut: the bar does not reach the ground
    stadium, weight = lengthwise_cut(inside)
    middle = (slice(None), slice(None), 10)
    assert weight[middle][inside[middle]].min() == 1.0
    assert stadium[2, 4, 10] < 0 and stadium[2, 7, 10] > 0  # the corner goes, the side's middle stays
    assert stadium[5, 7, 10] == pytest.approx(
        4.0 - np.hypot(0.5, 0.5)
    )  # a circle of radius 4 around 5.5, 7.5
