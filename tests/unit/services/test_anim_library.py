"""The full clip library by name: every clip plays; locomotion keeps planted feet still; turns,
strafes and the split jump do what their names say; hands stay outside the body."""

from __future__ import annotations

import itertools
from dataclasses import replace

import manifold3d
import numpy as np
import numpy.typing as npt
import pytest

from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Clip, Mesh, Model
from assetcore.proto.v1 import job_pb2
from bench.quality_metrics.feet import planted_speeds
from bench.quality_metrics.penetration import hand_vertices_inside
from bench.quality_metrics.skinning import world_pose
from services.anim.body import measure_body
from services.anim.gates import check_clip
from services.anim.humanoid_clips import wave
from services.anim.vocabulary import HUMANOID_LIBRARY, QUADRUPED_LIBRARY
from tests.support.creature_meshes import humanoid_mesh, quadruped_mesh
from tests.unit.services.test_anim import _animate, _rigged, assert_clip_quality

Floats = npt.NDArray[np.float64]
PLANTED = 0.02  # metres above the lowest height a contact point reaches that still count as planted
HUMANOID_LOOPS = {
    "idle",
    "walk",
    "run",
    "wave",
    "idle_alert",
    "idle_look",
    "sprint",
    "strafe_left",
    "strafe_right",
    "jump_loop",
    "block",
    "crouch",
}
BACK_TO_STANCE = ("jump", "attack", "attack_thrust", "hit")


@pytest.fixture(scope="module")
def humanoid_model() -> Model:
    rigged = _rigged(humanoid_mesh(20.0), job_pb2.RIG_TYPE_HUMANOID)
    return read_glb(_animate(rigged, clips=list(HUMANOID_LIBRARY)).files[0].data)


@pytest.fixture(scope="module")
def quadruped_model() -> Model:
    rigged = _rigged(quadruped_mesh(), job_pb2.RIG_TYPE_QUADRUPED)
    return read_glb(_animate(rigged, clips=list(QUADRUPED_LIBRARY)).files[0].data)


def _named(model: Model) -> dict[str, Clip]:
    return {clip.name: clip for clip in model.clips}


def _joint_paths(model: Model, clip: Clip, joints: list[str]) -> Floats:
    """World positions (frames, joints, 3) of the named joints, root motion included."""
    assert model.skeleton is not None
    _, heads = world_pose(model.skeleton, clip)
    paths: Floats = heads[:, [model.skeleton.names.index(name) for name in joints]]
    return paths


def _planted_speeds(model: Model, clip: Clip, joints: list[str]) -> Floats:
    """Horizontal speeds (m/s) of contact points between frames in which both are near the ground."""
    path = _joint_paths(model, clip, joints)
    low = path[:, :, 1] <= path[:, :, 1].min(axis=0) + PLANTED
    both = low[1:] & low[:-1]
    steps = np.linalg.norm(np.diff(path[:, :, [0, 2]], axis=0), axis=2) * clip.fps
    speeds: Floats = steps[both]
    return speeds


def test_every_humanoid_clip_plays(humanoid_model: Model) -> None:
    clips = _named(humanoid_model)
    assert list(clips) == list(HUMANOID_LIBRARY)
    for clip in clips.values():
        assert_clip_quality(clip)
        check_clip(clip, generated=True)
    assert {name for name, clip in clips.items() if clip.loop} == HUMANOID_LOOPS
    for name in BACK_TO_STANCE:
        assert np.allclose(clips[name].rotations[0], clips[name].rotations[-1], atol=1e-6), name


def test_every_quadruped_clip_plays(quadruped_model: Model) -> None:
    clips = _named(quadruped_model)
    assert list(clips) == list(QUADRUPED_LIBRARY)
    for clip in clips.values():
        assert_clip_quality(clip)
        check_clip(clip, generated=True)
    assert {name for name, clip in clips.items() if clip.loop} == {"idle", "walk", "run", "trot"}


def test_the_split_jump_joins_up(humanoid_model: Model) -> None:
    clips = _named(humanoid_model)
    start, loop, land = clips["jump_start"], clips["jump_loop"], clips["jump_land"]
    assert np.allclose(start.rotations[-1], loop.rotations[0], atol=1e-3)
    assert np.allclose(loop.rotations[-1], land.rotations[0], atol=1e-3)
    assert np.allclose(start.root_translations[-1], loop.root_translations[0], atol=1e-4)
    assert loop.root_translations[:, 1].min() > 0.2  # airborne throughout
    whole = clips["jump"]  # the three parts are the whole jump's take-off, flight and landing
    assert np.allclose(start.rotations[0], whole.rotations[0], atol=1e-3)
    assert np.allclose(land.rotations[-1], whole.rotations[-1], atol=1e-3)


@pytest.mark.parametrize(("name", "side"), [("strafe_left", 1.0), ("strafe_right", -1.0)])
def test_strafes_travel_sideways(humanoid_model: Model, name: str, side: float) -> None:
    clip = _named(humanoid_model)[name]
    x, z = clip.root_translations[:, 0], clip.root_translations[:, 2]
    assert side * x[-1] > 0.2 and np.all(side * np.diff(x) > 0)  # left is +X
    assert np.abs(z).max() < 1e-6
    assert _planted_speeds(humanoid_model, clip, ["LeftToeBase", "RightToeBase"]).mean() < 0.02


@pytest.mark.parametrize("model_name", ["humanoid_model", "quadruped_model"])
@pytest.mark.parametrize(("name", "sign"), [("turn_left", 1.0), ("turn_right", -1.0)])
def test_turns_end_a_quarter_round(
    request: pytest.FixtureRequest, model_name: str, name: str, sign: float
) -> None:
    model: Model = request.getfixturevalue(model_name)
    assert model.skeleton is not None
    clip = _named(model)[name]
    rotations, _ = world_pose(model.skeleton, clip)
    forward = np.array([0.0, 0.0, 1.0])
    hips = rotations[-1, model.skeleton.names.index("Hips")]
    facing = hips @ forward  # world rotation matrices (joints, 3, 3)
    assert np.allclose(facing, [sign, 0.0, 0.0], atol=0.05)  # facing +X after a left turn
    feet = [name for name in model.skeleton.names if name.endswith("Foot")]
    assert _planted_speeds(model, clip, feet).mean() < 0.02  # feet step; they do not skate


def test_walk_keeps_planted_feet_still(humanoid_model: Model, quadruped_model: Model) -> None:
    """Foot locking: the contact points (the humanoid's balls, the quadruped's hooves) hold still in
    the world while planted, though the body travels over them."""
    human = _named(humanoid_model)
    for name in ("walk", "run", "sprint"):
        speeds = _planted_speeds(humanoid_model, human[name], ["LeftToeBase", "RightToeBase"])
        assert speeds.size > 0.2 * human[name].frame_count and speeds.mean() < 0.02, name
    assert quadruped_model.skeleton is not None
    walk = _named(quadruped_model)["walk"]
    hooves = [name for name in quadruped_model.skeleton.names if name.endswith("Foot")]
    speeds = _planted_speeds(quadruped_model, walk, hooves)
    assert speeds.size > 0.5 * walk.frame_count and speeds.mean() < 0.02


def test_no_humanoid_clip_slides_its_ankles(humanoid_model: Model) -> None:
    """The quality bench's planted-foot slide (ankles within 2 cm of their rest height), clip by clip:
    a heel rolling up over the ball carries the ankle forward, so it must not linger low."""
    assert humanoid_model.skeleton is not None
    for clip in humanoid_model.clips:
        speeds = planted_speeds(humanoid_model.skeleton, clip)
        assert speeds.size > 0 or clip.name == "jump_loop", clip.name  # only the jump's flight is all air
        assert speeds.size == 0 or speeds.mean() <= 0.02, clip.name


def _shielded_humanoid() -> Mesh:
    """The capsule humanoid (arms 20 degrees down) with a round shield, 0.4 m across, facing forward
    on the left forearm."""
    body = humanoid_mesh(20.0)
    solid = manifold3d.Manifold(manifold3d.Mesh(vert_properties=body.positions, tri_verts=body.faces))
    drop = np.radians(20.0)
    forearm = np.array([0.2, 1.36, 0.0]) + 0.43 * np.array([np.cos(drop), -np.sin(drop), 0.0])
    shield = manifold3d.Manifold.cylinder(0.03, 0.2, 0.2, 32).translate(
        tuple(forearm + np.array([0.0, 0.0, 0.035]))
    )
    raw = (solid + shield).to_mesh()
    positions = np.asarray(raw.vert_properties, dtype=np.float32)[:, :3]
    return Mesh(positions=positions, faces=np.asarray(raw.tri_verts, dtype=np.uint32))


@pytest.mark.parametrize("shield", [False, True])
def test_hands_and_a_shield_stay_outside_the_body(humanoid_model: Model, shield: bool) -> None:
    """Hand and held-item vertices (bench/quality_metrics/penetration.py) never enter the body."""
    model = humanoid_model
    if shield:
        rigged = _rigged(_shielded_humanoid(), job_pb2.RIG_TYPE_HUMANOID)
        model = read_glb(_animate(rigged, clips=list(HUMANOID_LIBRARY)).files[0].data)
    assert hand_vertices_inside(replace(model, clips=[])) == 0  # the rest pose is clear
    for clip in model.clips:
        assert hand_vertices_inside(replace(model, clips=[clip])) == 0, clip.name


def test_death_ends_lying_down(humanoid_model: Model, quadruped_model: Model) -> None:
    for model in (humanoid_model, quadruped_model):
        clip = _named(model)["death"]
        head = _joint_paths(model, clip, ["Head"])[:, 0, 1]
        assert head[-1] < 0.45 * head[0]
        assert not clip.loop


@pytest.mark.parametrize(
    ("reach", "waving"), [({"Left": 0.1, "Right": 0.1}, "Right"), ({"Left": 0.1, "Right": 1.2}, "Left")]
)
def test_the_wave_uses_the_hand_that_holds_the_shorter_thing(
    humanoid_model: Model, reach: dict[str, float], waving: str
) -> None:
    """A staff in the right hand would sweep through the head: the left hand waves instead."""
    assert humanoid_model.skeleton is not None
    body = replace(measure_body(humanoid_model, "humanoid"), hand_reach=reach)
    clip = wave(body, 30.0, in_place=True)
    hands = _joint_paths(humanoid_model, clip, ["LeftHand", "RightHand", "Head"])
    raised = hands[:, :2, 1].min(axis=0) > hands[:, 2, 1].min() - 0.1  # at or above the head
    assert raised.tolist() == [waving == "Left", waving == "Right"]


def _hoof_tips(model: Model, clip: Clip) -> Floats:
    """World positions (frames, feet, 3) of each *Foot bone's tail: the toe of the hoof or paw."""
    assert model.skeleton is not None
    skeleton = model.skeleton
    rotations, heads = world_pose(skeleton, clip)
    feet = [j for j, name in enumerate(skeleton.names) if name.endswith("Foot")]
    bones = (skeleton.tails[feet] - skeleton.heads[feet]).astype(np.float64)
    tips: Floats = heads[:, feet] + np.einsum("tfij,fj->tfi", rotations[:, feet], bones)
    return tips


def test_every_quadruped_clip_keeps_planted_hooves_still(quadruped_model: Model) -> None:
    """Hooves stay flat and fixed while planted: both the ankle (the Foot joint) and the toe (the
    contact point) hold still, in every clip, travelling or not."""
    assert quadruped_model.skeleton is not None
    hooves = [name for name in quadruped_model.skeleton.names if name.endswith("Foot")]
    for clip in quadruped_model.clips:
        speeds = _planted_speeds(quadruped_model, clip, hooves)
        assert speeds.size > 0 and speeds.mean() < 0.02, clip.name
        tips = _hoof_tips(quadruped_model, clip)
        low = tips[:, :, 1] <= tips[:, :, 1].min(axis=0) + PLANTED
        steps = np.linalg.norm(np.diff(tips[:, :, [0, 2]], axis=0), axis=2) * clip.fps
        assert steps[low[1:] & low[:-1]].mean() < 0.02, clip.name


def _leg_bones(model: Model, clip: Clip, leg: str) -> Floats:
    """Points (frames, 15, 3) along a leg's bones from hip to toe, in the hips' frame."""
    assert model.skeleton is not None
    skeleton = model.skeleton
    rotations, heads = world_pose(skeleton, clip)
    joints = [skeleton.names.index(f"{leg}{part}") for part in ("UpperLeg", "LowerLeg", "Foot")]
    foot = joints[-1]
    toe = heads[:, foot] + rotations[:, foot] @ (skeleton.tails[foot] - skeleton.heads[foot]).astype(
        np.float64
    )
    ends = [heads[:, j] for j in joints] + [toe]
    t = np.linspace(0.0, 1.0, 5)[None, :, None]
    points = np.concatenate([a[:, None] + t * (b - a)[:, None] for a, b in itertools.pairwise(ends)], axis=1)
    hips = skeleton.names.index("Hips")
    local: Floats = np.einsum("tji,tpj->tpi", rotations[:, hips], points - heads[:, hips, None])
    return local


def test_quadruped_legs_never_cross(quadruped_model: Model) -> None:
    """In every clip a side's front and hind legs stay apart (the bones keep a tenth of a leg length
    between them), and the left legs stay left of the right ones (in the hips' frame)."""
    assert quadruped_model.skeleton is not None
    leg_length = float(
        quadruped_model.skeleton.heads[quadruped_model.skeleton.names.index("HindLeftUpperLeg"), 1]
    )
    for clip in quadruped_model.clips:
        bones = {
            f"{end}{side}": _leg_bones(quadruped_model, clip, f"{end}{side}")
            for end in ("Front", "Hind")
            for side in ("Left", "Right")
        }
        for side in ("Left", "Right"):
            front, hind = bones[f"Front{side}"], bones[f"Hind{side}"]
            gap = np.linalg.norm(front[:, :, None] - hind[:, None, :], axis=-1).min()
            assert gap > 0.09 * leg_length, (clip.name, side)
        for end in ("Front", "Hind"):
            left, right = bones[f"{end}Left"][:, 5:, 0], bones[f"{end}Right"][:, 5:, 0]  # knee down
            assert (left.min(axis=1) > right.max(axis=1)).all(), (clip.name, end)
