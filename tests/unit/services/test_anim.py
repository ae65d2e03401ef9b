"""The anim step: the procedural clip libraries, gaits scaled to the skeleton, loops, fps and
in-place options, BVH parsing and retargeting (corrupt files included), and bad inputs."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Clip, Mesh, Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, StepError, StepOutput
from services.anim import quaternions as quat
from services.anim.bvh import parse_bvh
from services.anim.gates import check_clip
from services.anim.humanoid_clips import HUMANOID_BUILDERS
from services.anim.pose import two_bone_ik
from services.anim.quadruped_clips import QUADRUPED_BUILDERS
from services.anim.skinning import world_pose
from services.anim.step import STEP
from services.anim.vocabulary import HUMANOID_CLIPS, HUMANOID_LIBRARY, QUADRUPED_CLIPS, QUADRUPED_LIBRARY
from services.rig.step import STEP as RIG_STEP
from tests.support.bvh_samples import CMU_NAMES, MIXAMO_NAMES, OPAQUE_NAMES, corrupt_variants, walking_bvh
from tests.support.creature_meshes import box_mesh, humanoid_mesh, quadruped_mesh
from tests.support.gltf_validator import assert_valid_glb
from tests.support.steps import run_step_function, step_request


def _glb_input(name: str, data: bytes) -> InputFile:
    return InputFile(name, "model/gltf-binary", data, hashlib.sha256(data).hexdigest())


def _progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
    assert 0.0 <= fraction <= 1.0


def _rigged(mesh: Mesh, rig_type: int) -> bytes:
    job = job_pb2.JobInput(constraints=job_pb2.Constraints(rig_type=rig_type))
    request = step_request("rig", job, {}, 1, {"mesh": _glb_input("mesh", write_glb(Model(mesh=mesh)))})
    backend = RIG_STEP.backends["cpu"].create()
    return run_step_function(backend, request, _progress).files[0].data


def _animate(rigged: bytes, params: dict[str, Any] | None = None, **animation: Any) -> StepOutput:
    inputs = {"rigged": _glb_input("rigged", rigged)}
    bvh = animation.pop("bvh", None)
    if bvh is not None:  # as the orchestrator hands it over: an input artifact
        inputs["bvh"] = InputFile("bvh", "application/x-bvh", bvh, hashlib.sha256(bvh).hexdigest())
    job = job_pb2.JobInput(animation=job_pb2.AnimationOptions(**animation))
    request = step_request("anim", job, params or {}, 1, inputs)
    return run_step_function(STEP.backends["procedural"].create(), request, _progress)


def _clips(output: StepOutput) -> dict[str, Clip]:
    return {clip.name: clip for clip in read_glb(output.files[0].data).clips}


@pytest.fixture(scope="module")
def humanoid() -> bytes:
    return _rigged(humanoid_mesh(20.0), job_pb2.RIG_TYPE_HUMANOID)


@pytest.fixture(scope="module")
def quadruped() -> bytes:
    return _rigged(quadruped_mesh(), job_pb2.RIG_TYPE_QUADRUPED)


@pytest.fixture(scope="module")
def humanoid_library(humanoid: bytes) -> StepOutput:
    return _animate(humanoid, bvh=walking_bvh())


def _turn_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 2.0 * np.degrees(np.arccos(np.clip(np.abs(np.sum(a * b, axis=-1)), 0.0, 1.0)))


def assert_clip_quality(clip: Clip) -> None:
    """Bones move, nothing is NaN, quaternions are unit; loops close, and angular speed changes across
    the seam no more than between neighbouring frames inside the clip (within sampling slack)."""
    rotations = clip.rotations.astype(np.float64)
    assert np.isfinite(rotations).all() and np.isfinite(clip.root_translations).all()
    assert np.allclose(np.linalg.norm(rotations, axis=-1), 1.0, atol=1e-5)
    assert _turn_degrees(rotations, rotations[:1]).max() > 2.0, f"{clip.name} hardly moves"
    if clip.loop:  # the root comes back but for its travel, which is along one horizontal axis
        assert np.array_equal(clip.rotations[0], clip.rotations[-1])
        moved = np.abs(clip.root_translations[-1] - clip.root_translations[0]) > 1e-6
        assert not moved[1] and moved.sum() <= 1
        speed = _turn_degrees(rotations[1:], rotations[:-1])  # (frames - 1, joints)
        inside = np.abs(np.diff(speed, axis=0)).max(axis=0)
        seam = np.abs(speed[0] - speed[-1])
        assert np.all(seam <= 1.5 * inside + 1.0), f"{clip.name}: the loop seam jerks"


# --- the libraries ----------------------------------------------------------------------------


def test_vocabulary_matches_the_builders() -> None:
    assert tuple(HUMANOID_BUILDERS) == HUMANOID_LIBRARY and len(HUMANOID_LIBRARY) >= 20
    assert tuple(QUADRUPED_BUILDERS) == QUADRUPED_LIBRARY and len(QUADRUPED_LIBRARY) >= 8
    assert HUMANOID_LIBRARY[: len(HUMANOID_CLIPS)] == HUMANOID_CLIPS  # the defaults lead the library
    assert QUADRUPED_LIBRARY[: len(QUADRUPED_CLIPS)] == QUADRUPED_CLIPS
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)?", name) for name in HUMANOID_LIBRARY + QUADRUPED_LIBRARY)


def test_humanoid_library_plus_bvh(humanoid_library: StepOutput) -> None:
    clips = _clips(humanoid_library)
    assert list(clips) == [*HUMANOID_CLIPS, "bvh"]
    for clip in clips.values():
        assert_clip_quality(clip)
        check_clip(clip, generated=clip.name != "bvh")
    assert {name for name, clip in clips.items() if clip.loop} == {"idle", "walk", "run", "wave"}
    for name in ("jump", "attack"):  # one-shots start and end in the idle stance
        assert np.allclose(clips[name].rotations[0], clips[name].rotations[-1], atol=1e-6)


def test_quadruped_library(quadruped: bytes) -> None:
    clips = _clips(_animate(quadruped))
    assert list(clips) == list(QUADRUPED_CLIPS)
    for clip in clips.values():
        assert_clip_quality(clip)


def test_clip_subset_and_fps(humanoid: bytes) -> None:
    slow = _clips(_animate(humanoid, clips=["walk", "wave"], fps=15))
    fast = _clips(_animate(humanoid, clips=["walk"], fps=60))
    assert list(slow) == ["walk", "wave"] and list(fast) == ["walk"]
    assert slow["walk"].fps == 15 and fast["walk"].fps == 60
    assert abs(slow["walk"].duration - fast["walk"].duration) < 0.1
    assert fast["walk"].frame_count > 3 * slow["walk"].frame_count
    assert_clip_quality(_clips(_animate(humanoid, clips=["idle"], fps=1))["idle"])  # the slowest rate


def test_walk_travels_its_stride_with_planted_feet(humanoid: bytes) -> None:
    model = read_glb(humanoid)
    assert model.skeleton is not None
    walk = _clips(_animate(humanoid, clips=["walk"]))["walk"]
    travel = walk.root_translations[:, 2]
    assert travel[0] == 0.0 and 0.8 < travel[-1] < 1.3  # one cycle: about 1.15 leg lengths
    assert np.all(np.diff(travel) > 0)
    ball = model.skeleton.names.index("LeftToeBase")
    cycle = range(walk.frame_count - 1)  # the last frame is the next cycle's first, a stride further on
    path = np.array([world_pose(model.skeleton, walk, f)[1][ball] for f in cycle])
    planted = path[:, 1] < path[:, 1].min() + 0.005
    assert planted.sum() >= 0.4 * len(path)  # on the ground for much of the cycle ...
    assert np.ptp(path[planted, 2]) < 0.02  # ... without sliding
    in_place = _clips(_animate(humanoid, clips=["walk"], in_place=True))["walk"]
    assert np.all(in_place.root_translations[:, 2] == 0.0)


def test_gaits_scale_with_the_skeleton() -> None:
    small = _rigged(humanoid_mesh(20.0, height_scale=0.6), job_pb2.RIG_TYPE_HUMANOID)
    tall = _rigged(humanoid_mesh(20.0), job_pb2.RIG_TYPE_HUMANOID)
    small_walk, tall_walk = (_clips(_animate(data, clips=["walk"]))["walk"] for data in (small, tall))
    ratio = small_walk.root_translations[-1, 2] / tall_walk.root_translations[-1, 2]
    assert abs(ratio - 0.6) < 0.05
    assert small_walk.duration < tall_walk.duration


def test_jump_leaves_the_ground(humanoid_library: StepOutput) -> None:
    jump = _clips(humanoid_library)["jump"]
    assert jump.root_translations[:, 1].max() > 0.2
    assert jump.root_translations[:, 1].min() < -0.1  # the crouch


def test_two_bone_ik_reaches_its_target() -> None:
    root = np.zeros((3, 3))
    target = np.array([[0.1, -0.8, 0.2], [0.0, -0.5, 0.3], [0.3, -0.6, -0.1]])
    upper, lower = np.array([0.0, -0.45, 0.0]), np.array([0.0, -0.45, 0.0])
    upper_rotation, lower_rotation = two_bone_ik(root, target, upper, lower, np.array([0.0, 0.0, 1.0]))
    knee = quat.rotate(upper_rotation, upper)
    end = knee + quat.rotate(lower_rotation, lower)
    assert np.allclose(end, target, atol=1e-9)
    assert np.all(knee[:, 2] > np.sum(target * [0, 0, 1], axis=1) * 0.5 - 1e-9)  # bends towards the pole


def test_animation_is_deterministic(humanoid: bytes) -> None:
    assert _animate(humanoid).files[0].data == _animate(humanoid).files[0].data


def test_animated_glb_passes_the_gltf_validator(humanoid_library: StepOutput) -> None:
    assert_valid_glb(humanoid_library.files[0].data)


def test_preview_shows_a_pose(humanoid_library: StepOutput) -> None:
    assert humanoid_library.preview_png is not None and humanoid_library.preview_png.startswith(b"\x89PNG")


def test_static_mesh_passes_through() -> None:
    data = write_glb(Model(mesh=box_mesh()))
    output = _animate(data)
    assert output.files[0].data == data
    assert any("no skeleton" in note for note in output.notes)


# --- BVH --------------------------------------------------------------------------------------


def test_bvh_rotation_channels_compose_in_their_listed_order() -> None:
    text = walking_bvh().decode().replace("Zrotation Xrotation Yrotation", "Yrotation Xrotation Zrotation")
    motion = parse_bvh(text.encode())
    values = motion.columns(7)  # LeftArm in the depth-first order
    expected = Rotation.from_euler(
        "YXZ", np.stack([values["Yrotation"], values["Xrotation"], values["Zrotation"]], axis=1), degrees=True
    )
    assert np.allclose(np.abs(np.sum(motion.local_rotations()[:, 7] * expected.as_quat(), axis=1)), 1.0)


@pytest.mark.parametrize("names", [MIXAMO_NAMES, CMU_NAMES, OPAQUE_NAMES], ids=["mixamo", "cmu", "structure"])
def test_bvh_is_retargeted_onto_a_different_rest_pose(humanoid: bytes, names: dict[str, str]) -> None:
    """The source is a T-pose, the target an A-pose: posed bones must still point the same way."""
    data = walking_bvh(names)
    clip = _clips(_animate(humanoid, bvh=data, clips=["idle"]))["bvh"]
    model = read_glb(humanoid)
    assert model.skeleton is not None
    motion = parse_bvh(data)
    source = {joint.name: index for index, joint in enumerate(motion.joints)}
    rotations = motion.local_rotations()
    rest = motion.rest_positions()
    for frame in (0, 10, 20):
        world = quat.identity(len(motion.joints))
        heads = np.zeros_like(rest)
        for j, joint in enumerate(motion.joints):
            parent = joint.parent
            world[j] = (
                rotations[frame, j] if parent < 0 else quat.multiply(world[parent], rotations[frame, j])
            )
            heads[j] = (
                rest[j] if parent < 0 else heads[parent] + quat.rotate(world[parent], rest[j] - rest[parent])
            )
        _, target_heads = world_pose(model.skeleton, clip, frame)
        for bone, child in (
            ("LeftArm", "LeftForeArm"),
            ("RightForeArm", "RightHand"),
            ("LeftUpLeg", "LeftLeg"),
        ):
            want = heads[source[names[child]]] - heads[source[names[bone]]]
            got = (
                target_heads[model.skeleton.names.index(child)]
                - target_heads[model.skeleton.names.index(bone)]
            )
            cosine = want @ got / np.linalg.norm(want) / np.linalg.norm(got)
            assert math.degrees(math.acos(min(cosine, 1.0))) < 1.0


def test_bvh_root_motion_is_scaled_by_leg_length(humanoid: bytes) -> None:
    """The source walks 1.2 m (120 cm/s for a second) on 0.9 m hips; the target's hips are about as high."""
    model = read_glb(humanoid)
    assert model.skeleton is not None
    clip = _clips(_animate(humanoid, bvh=walking_bvh(), clips=["idle"]))["bvh"]
    scale = float(model.skeleton.heads[0, 1]) / 0.9
    assert abs(clip.root_translations[-1, 2] - 1.2 * scale) < 0.02
    assert np.abs(clip.root_translations[:, 1]).max() < 0.1  # stays on its feet
    in_place = _clips(_animate(humanoid, bvh=walking_bvh(), clips=["idle"], in_place=True))["bvh"]
    assert np.all(in_place.root_translations[:, [0, 2]] == 0.0)


def test_bvh_clip_can_be_named(humanoid: bytes) -> None:
    clips = _clips(_animate(humanoid, {"bvh_name": "stroll"}, bvh=walking_bvh(), clips=["idle"]))
    assert list(clips) == ["idle", "stroll"]


@pytest.mark.parametrize("variant", sorted(corrupt_variants()))
def test_corrupt_bvh_is_refused_saying_where(humanoid: bytes, variant: str) -> None:
    data, fragment = corrupt_variants()[variant]
    with pytest.raises(StepError) as raised:
        _animate(humanoid, bvh=data, clips=["idle"])
    assert raised.value.code == ErrorCode.CORRUPT_BVH
    assert fragment in raised.value.message


# --- bad inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "animation", "fragment"),
    [
        ({}, {"clips": ["dance"]}, "'dance'"),
        ({}, {"fps": 121}, "animation.fps"),
        ({"speed": 2}, {}, "anim.speed"),
        ({"bvh_name": "Walk Fast"}, {}, "anim.bvh_name"),
        ({"bvh_name": "walk"}, {}, "generated clip"),
    ],
)
def test_bad_options_are_invalid_params(
    humanoid: bytes, params: dict[str, Any], animation: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(StepError) as raised:
        _animate(humanoid, params, **animation)
    assert raised.value.code == ErrorCode.INVALID_PARAMS
    assert fragment in raised.value.message


def test_quadrupeds_only_get_their_clips_and_no_bvh(quadruped: bytes) -> None:
    for animation, fragment in (
        ({"clips": ["wave"]}, "not available for a quadruped"),
        ({"bvh": walking_bvh()}, "humanoid"),
    ):
        with pytest.raises(StepError) as raised:
            _animate(quadruped, **animation)
        assert raised.value.code == ErrorCode.INVALID_PARAMS and fragment in raised.value.message


def test_missing_or_broken_rigged_input() -> None:
    job = job_pb2.JobInput()
    with pytest.raises(StepError) as raised:
        run_step_function(
            STEP.backends["procedural"].create(), step_request("anim", job, {}, 1, {}), _progress
        )
    assert raised.value.code == ErrorCode.INVALID_INPUT and "'rigged' is missing" in raised.value.message
    with pytest.raises(StepError) as raised:
        _animate(b"garbage")
    assert raised.value.code == ErrorCode.INVALID_INPUT
