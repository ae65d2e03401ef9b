"""bench/quality's metrics on tiny synthetic inputs whose right answer is known."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from assetcore.geometry.model import Clip, Mesh, Model, Skeleton, Skin
from assetcore.geometry.skeleton import HUMANOID_LAYOUT, build_skeleton
from bench.quality_metrics.deformation import unique_edges, worst_stretch
from bench.quality_metrics.feet import mean_planted_slide
from bench.quality_metrics.inside import inside_mask
from bench.quality_metrics.penetration import hand_vertices_inside
from bench.quality_metrics.skinning import quaternion_matrices, skinned_positions
from bench.quality_metrics.texture import back_front
from bench.quality_metrics.uv import uv_coverage, uv_islands
from bench.quality_metrics.weights import arm_and_leg_vertices, torso_spine_share

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
IDENTITY = (0.0, 0.0, 0.0, 1.0)


def z_rotation(degrees: float) -> tuple[float, float, float, float]:
    half = math.radians(degrees) / 2
    return (0.0, 0.0, math.sin(half), math.cos(half))


def clip_of(
    rotations: Sequence[Sequence[tuple[float, ...]]], root: Sequence[tuple[float, ...]] | None = None
) -> Clip:
    frames = np.array(rotations, dtype=np.float32)
    offsets = np.zeros((len(frames), 3)) if root is None else np.array(root)
    return Clip("test", 30.0, frames, offsets.astype(np.float32), loop=False)


def cube(center: tuple[float, float, float], half: float) -> tuple[Floats, Ints]:
    """A closed axis-aligned cube, faces counter-clockwise seen from outside."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return np.asarray(center) + half * corners, faces


def test_cube_faces_point_outward() -> None:
    points, faces = cube((0, 0, 0), 1)
    t = points[faces]
    volume = np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6
    assert volume == pytest.approx(8.0)


def test_quaternion_matrix_turns_x_into_y() -> None:
    assert quaternion_matrices(z_rotation(90)) @ np.array([1.0, 0, 0]) == pytest.approx([0, 1, 0], abs=1e-9)


def test_bar_bent_ninety_degrees_stretches_its_outer_edge_by_root_two() -> None:
    """Two rigid halves of a bar, bent 90 degrees at the joint: the outer edge across it grows by sqrt 2."""
    skeleton = Skeleton(
        ["A", "B"], np.array([-1, 0], np.int32), np.array([[0, 0, 0], [1, 0, 0]], np.float32),
        np.array([[1, 0, 0], [2, 0, 0]], np.float32),
    )  # fmt: skip
    d = 0.1
    positions = np.array([[1 - d, -d, 0], [1 + d, -d, 0], [1 - d, d, 0], [1 + d, d, 0]], np.float32)
    faces = np.array([[0, 1, 3], [0, 3, 2]])
    skin = Skin(
        np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], np.uint16),
        np.array([[1, 0, 0, 0]] * 4, np.float32),
    )
    clip = clip_of([[IDENTITY, IDENTITY], [IDENTITY, z_rotation(90)]])
    frames = skinned_positions(positions, skeleton, skin, clip)
    assert frames[1, 1] == pytest.approx([1 + d, d, 0], abs=1e-6)  # (d, -d) about the joint -> (d, d)
    assert worst_stretch(positions, frames, unique_edges(faces)) == pytest.approx(math.sqrt(2), rel=1e-5)
    assert worst_stretch(positions, frames[:1], unique_edges(faces)) == pytest.approx(1.0)


def walker(lift: float) -> tuple[Skeleton, Clip]:
    """A hip and a foot on the floor; the whole body glides along x at 0.1 m/s, raised by `lift`."""
    skeleton = Skeleton(
        ["Hips", "LeftFoot"], np.array([-1, 0], np.int32), np.array([[0, 1, 0], [0, 0.05, 0]], np.float32),
        np.array([[0, 0.05, 0], [0, 0, 0.1]], np.float32),
    )  # fmt: skip
    frames = 31
    root = [(0.1 * t / 30.0, lift, 0.0) for t in range(frames)]
    return skeleton, clip_of([[IDENTITY, IDENTITY]] * frames, root)


def test_foot_gliding_on_the_floor_slides_at_its_speed() -> None:
    skeleton, clip = walker(lift=0.0)
    assert mean_planted_slide(skeleton, [clip]) == pytest.approx(0.1, rel=1e-4)


def test_lifted_foot_is_not_planted() -> None:
    skeleton, clip = walker(lift=0.3)
    assert mean_planted_slide(skeleton, [clip]) is None


def test_cube_inside_a_cube_is_inside_and_one_beside_it_is_not() -> None:
    outer, faces = cube((0, 0, 0), 1.0)
    inner, _ = cube((0.2, -0.1, 0.3), 0.3)
    beside, _ = cube((2.5, 0, 0), 0.3)
    assert inside_mask(inner, outer, faces).sum() == 8
    assert inside_mask(beside, outer, faces).sum() == 0


def test_inside_vote_survives_a_hole_in_the_surface() -> None:
    outer, faces = cube((0, 0, 0), 1.0)
    inner, _ = cube((0, 0, 0), 0.5)
    assert inside_mask(inner, outer, faces[2:]).sum() == 8  # one side of the box removed


def test_uv_coverage_of_half_the_square() -> None:
    uvs = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    assert uv_coverage(uvs, np.array([[0, 1, 2]]), resolution=256) == pytest.approx(0.5, abs=0.01)
    assert uv_coverage(uvs, np.array([[0, 1, 2], [1, 3, 2]]), resolution=256) == pytest.approx(1.0)


def test_uv_islands_join_through_split_vertices_but_not_seams() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    faces = np.array([[0, 1, 2], [4, 3, 5]])  # the second triangle uses split copies of the shared edge
    same_uvs = np.array([[0, 0], [0.5, 0], [0, 0.5], [0.5, 0.5], [0.5, 0], [0, 0.5]], np.float32)
    seam_uvs = same_uvs.copy()
    seam_uvs[3:] += 0.5  # the second triangle placed elsewhere in the atlas
    assert uv_islands(positions, same_uvs, faces) == 1
    assert uv_islands(positions, seam_uvs, faces) == 2


def slab(back_uv_shift: float) -> Mesh:
    """A front quad at z=+0.1 and a back quad at z=-0.1 textured from a left-right colour ramp.

    The back's UVs equal the front's (a mirror: the front printed through) or are shifted into
    the texture's other half, which holds a different pattern.
    """
    ramp = np.zeros((64, 128, 3), np.uint8)
    ramp[:, :64, 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]
    ramp[:, 64:, 1] = np.linspace(255, 0, 64, dtype=np.uint8)[:, None]
    png = io.BytesIO()
    Image.fromarray(ramp).save(png, format="PNG")
    square = [[0, 0], [1, 0], [0, 1], [1, 1]]
    positions = np.array([[x, y, 0.1] for x, y in square] + [[x, y, -0.1] for x, y in square], np.float32)
    front_uvs = np.array([[0.5 * x, 1 - y] for x, y in square], np.float32)
    uvs = np.vstack([front_uvs, front_uvs + np.array([back_uv_shift, 0])]).astype(np.float32)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 7, 5], [4, 6, 7]], np.uint32)
    return Mesh(positions=positions, faces=faces, uvs=uvs, texture_png=png.getvalue())


def test_mirrored_back_matches_the_front() -> None:
    view = back_front(slab(back_uv_shift=0.0), resolution=32, samples=40_000)
    assert view.difference < 0.01
    assert view.correlation > 0.99


def test_own_back_differs_from_the_front() -> None:
    view = back_front(slab(back_uv_shift=0.5), resolution=32, samples=40_000)
    assert view.difference > 0.2
    assert view.correlation < 0.5


@pytest.mark.parametrize(("shift", "printed_through"), [(0.0, True), (0.5, False)])
def test_sides_compare_along_x(shift: float, printed_through: bool) -> None:
    """The slab turned a quarter about y: its faces now look along +-x."""
    mesh = slab(back_uv_shift=shift)
    mesh.positions = mesh.positions[:, [2, 1, 0]].copy()
    view = back_front(mesh, resolution=32, samples=40_000, depth_axis=0)
    assert (view.difference < 0.01) == printed_through


HEADS: dict[str, tuple[float, float, float]] = {
    "Hips": (0, 1.0, 0), "Spine": (0, 1.1, 0), "Spine1": (0, 1.2, 0), "Spine2": (0, 1.3, 0),
    "Neck": (0, 1.5, 0), "Head": (0, 1.6, 0), "HeadTop_End": (0, 1.8, 0),
}  # fmt: skip
for _sign, _side in ((1, "Left"), (-1, "Right")):
    HEADS |= {
        f"{_side}Shoulder": (_sign * 0.05, 1.45, 0), f"{_side}Arm": (_sign * 0.2, 1.45, 0),
        f"{_side}ForeArm": (_sign * 0.45, 1.45, 0), f"{_side}Hand": (_sign * 0.7, 1.45, 0),
        f"{_side}UpLeg": (_sign * 0.1, 0.95, 0), f"{_side}Leg": (_sign * 0.1, 0.5, 0),
        f"{_side}Foot": (_sign * 0.1, 0.08, 0), f"{_side}ToeBase": (_sign * 0.1, 0.02, 0.1),
        f"{_side}Toe_End": (_sign * 0.1, 0.02, 0.2),
    }  # fmt: skip


def humanoid() -> Skeleton:
    children = {parent: name for name, parent in HUMANOID_LAYOUT if parent is not None}
    tails = {
        name: HEADS[children[name]] if name in children else np.add(HEADS[name], (0, 0.05, 0))
        for name, _ in HUMANOID_LAYOUT
    }
    tails["Spine2"] = HEADS["Neck"]
    return build_skeleton(HUMANOID_LAYOUT, HEADS, tails)


def rigid_skin(skeleton: Skeleton, names: list[str]) -> Skin:
    joints = np.zeros((len(names), 4), np.uint16)
    joints[:, 0] = [skeleton.names.index(name) for name in names]
    weights = np.zeros((len(names), 4), np.float32)
    weights[:, 0] = 1
    return Skin(joints, weights)


def test_torso_share_counts_torso_vertices_dominated_by_the_spine() -> None:
    skeleton = humanoid()
    positions = np.array(
        [[0.05, 1.1, 0.1], [-0.05, 1.2, 0.1], [0.1, 1.3, -0.1], [0.1, 1.25, 0.1], [0.6, 1.45, 0]]
    )
    skin = rigid_skin(skeleton, ["Spine", "Spine1", "Spine2", "LeftArm", "LeftHand"])  # the hand is not torso
    assert torso_spine_share(positions, skeleton, skin) == pytest.approx(0.75)


def test_vertices_weighted_to_both_an_arm_and_a_leg_are_counted() -> None:
    skeleton = humanoid()
    index = skeleton.names.index
    joints = np.array([[index("LeftArm"), index("LeftUpLeg"), 0, 0]] * 3, np.uint16)
    weights = np.array([[0.5, 0.5, 0, 0], [0.95, 0.05, 0, 0], [0.8, 0.2, 0, 0]], np.float32)
    assert arm_and_leg_vertices(skeleton, Skin(joints, weights)) == 2


def test_hand_swung_into_the_torso_is_inside_the_body() -> None:
    """A torso box on the spine and a hand cube on LeftHand; the arm swings the hand into the box."""
    skeleton = humanoid()
    torso, torso_faces = cube((0, 1.125, 0), 1.0)
    torso = np.array([0, 1.125, 0]) + (torso - [0, 1.125, 0]) * [0.15, 0.125, 0.1]
    hand, hand_faces = cube(HEADS["LeftHand"], 0.03)
    mesh = Mesh(
        np.vstack([torso, hand]).astype(np.float32),
        np.vstack([torso_faces, hand_faces + 8]).astype(np.uint32),
    )
    model = Model(mesh, skeleton, rigid_skin(skeleton, ["Spine"] * 8 + ["LeftHand"] * 8))
    rest = [IDENTITY] * skeleton.joint_count
    assert hand_vertices_inside(model) == 0
    swung = list(rest)
    swung[skeleton.names.index("LeftArm")] = z_rotation(-math.degrees(math.atan2(0.4, -0.3)))
    model.clips = [clip_of([rest, swung])]
    assert hand_vertices_inside(model) == 8
