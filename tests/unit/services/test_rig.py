"""The rig step: skeletons fitted to the mesh's own shape, skin weights, skinned LODs, static
rigs, the blender backend, and bad inputs."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from assetcore.blender import bpy_available
from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Mesh, Model, Skeleton
from assetcore.geometry.skeleton import HUMANOID_LAYOUT, QUADRUPED_LEGS, is_end_joint, quadruped_layout
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, StepError, StepOutput, StepRequest
from services.rig.mesh_checks import check_riggable
from services.rig.step import STEP
from services.rig.weights import top_influences
from tests.support.creature_meshes import box_mesh, humanoid_mesh, inflated_humanoid_mesh, quadruped_mesh
from tests.support.gltf_validator import assert_valid_glb
from tests.support.steps import run_step_function, step_request

HUMANOID = job_pb2.RIG_TYPE_HUMANOID
QUADRUPED = job_pb2.RIG_TYPE_QUADRUPED
needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")


def _glb_input(name: str, data: bytes) -> InputFile:
    return InputFile(name, "model/gltf-binary", data, hashlib.sha256(data).hexdigest())


def _request(
    meshes: dict[str, Mesh | bytes],
    rig_type: int = HUMANOID,
    prompt: str = "a knight",
    params: dict[str, Any] | None = None,
) -> StepRequest:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept=prompt), constraints=job_pb2.Constraints(rig_type=rig_type)
    )
    inputs = {
        name: _glb_input(name, mesh if isinstance(mesh, bytes) else write_glb(Model(mesh=mesh)))
        for name, mesh in meshes.items()
    }
    return step_request("rig", job, params, 1, inputs)


def _progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
    assert 0.0 <= fraction <= 1.0


def _rig(request: StepRequest, backend: str = "cpu") -> StepOutput:
    instance = STEP.backends[backend].create()
    instance.load()
    return run_step_function(instance, request, _progress)


def _models(output: StepOutput) -> dict[str, Model]:
    return {f.name: read_glb(f.data) for f in output.files}


def _joint(skeleton: Skeleton, name: str) -> np.ndarray:
    return skeleton.heads[skeleton.names.index(name)].astype(np.float64)


def _dominant(model: Model) -> np.ndarray:
    """The joint with the largest weight, per vertex."""
    assert model.skin is not None
    return model.skin.joints[np.arange(model.mesh.vertex_count), np.argmax(model.skin.weights, axis=1)]


@pytest.fixture(scope="module")
def humanoid() -> tuple[Mesh, StepOutput]:
    mesh = inflated_humanoid_mesh()
    lods = {"lod1": inflated_humanoid_mesh(resolution=64), "lod2": inflated_humanoid_mesh(resolution=40)}
    return mesh, _rig(_request({"mesh": mesh, **lods}))


@pytest.fixture(scope="module")
def quadruped() -> tuple[Mesh, StepOutput]:
    mesh = quadruped_mesh()
    return mesh, _rig(_request({"mesh": mesh}, QUADRUPED, "a grey wolf"))


def assert_skin_rules(model: Model) -> None:
    """Every vertex weighted, at most 4 influences, sums 1, no NaN, only deforming joints."""
    assert model.skeleton is not None and model.skin is not None
    weights = model.skin.weights.astype(np.float64)
    assert weights.shape == (model.mesh.vertex_count, 4)
    assert np.isfinite(weights).all() and (weights >= 0).all()
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert (weights.max(axis=1) > 0).all()
    used = np.unique(model.skin.joints[weights > 0])
    assert used.max() < model.skeleton.joint_count
    assert not any(is_end_joint(model.skeleton.names[j]) for j in used)


# --- skeleton fitting -------------------------------------------------------------------------


def test_humanoid_skeleton_has_mixamo_names_and_left_is_plus_x(humanoid: tuple[Mesh, StepOutput]) -> None:
    skeleton = _models(humanoid[1])["rigged"].skeleton
    assert skeleton is not None
    assert skeleton.names == [name for name, _ in HUMANOID_LAYOUT]
    assert all(skeleton.parents[i] < i for i in range(1, skeleton.joint_count)) and skeleton.parents[0] == -1
    for part in ("Arm", "Hand", "UpLeg", "Foot"):
        assert _joint(skeleton, f"Left{part}")[0] > 0 > _joint(skeleton, f"Right{part}")[0]


def test_humanoid_joints_sit_on_the_meshs_landmarks(humanoid: tuple[Mesh, StepOutput]) -> None:
    mesh, output = humanoid
    skeleton = _models(output)["rigged"].skeleton
    assert skeleton is not None
    top = float(mesh.positions[:, 1].max())
    head_top = _joint(skeleton, "HeadTop_End")
    assert abs(head_top[1] - top) < 0.04
    hand_tip = skeleton.tails[skeleton.names.index("LeftHand")]
    assert abs(hand_tip[0] - mesh.positions[:, 0].max()) < 0.05  # the arm's extremity
    hips, knee, ankle = (_joint(skeleton, name) for name in ("LeftUpLeg", "LeftLeg", "LeftFoot"))
    assert 0.8 < hips[1] < 1.0 and ankle[1] < 0.15 < knee[1] < hips[1]
    assert _joint(skeleton, "Neck")[1] < _joint(skeleton, "Head")[1] < head_top[1]
    spine = [_joint(skeleton, name)[1] for name in ("Hips", "Spine", "Spine1", "Spine2", "Neck")]
    assert spine == sorted(spine)


def test_joints_follow_the_shape_not_a_template() -> None:
    """An A-pose puts the hands lower than a T-pose; a smaller figure gets a smaller skeleton."""
    t_pose = _models(_rig(_request({"mesh": humanoid_mesh(0.0)})))["rigged"].skeleton
    a_pose = _models(_rig(_request({"mesh": humanoid_mesh(35.0)})))["rigged"].skeleton
    small = _models(_rig(_request({"mesh": humanoid_mesh(0.0, height_scale=0.6)})))["rigged"].skeleton
    assert t_pose is not None and a_pose is not None and small is not None
    wrist_t, wrist_a = _joint(t_pose, "LeftHand"), _joint(a_pose, "LeftHand")
    assert abs(wrist_t[1] - 1.36) < 0.05 and abs(wrist_t[0] - 0.76) < 0.06  # where the mesh's wrist is
    assert abs(wrist_a[1] - 1.04) < 0.06 and abs(wrist_a[0] - 0.66) < 0.06
    assert np.allclose(small.heads, 0.6 * t_pose.heads, atol=0.03)


@pytest.mark.parametrize("arm_drop", [0.0, 35.0])
def test_a_held_staff_is_neither_a_foot_nor_the_arm(arm_drop: float) -> None:
    """The staff stands on the floor beside the right foot and reaches above the head."""
    skeleton = _models(_rig(_request({"mesh": humanoid_mesh(arm_drop, staff=True)})))["rigged"].skeleton
    plain = _models(_rig(_request({"mesh": humanoid_mesh(arm_drop)})))["rigged"].skeleton
    assert skeleton is not None and plain is not None
    for joint in ("RightFoot", "RightForeArm", "RightHand", "Head"):
        assert np.linalg.norm(_joint(skeleton, joint) - _joint(plain, joint)) < 0.06, joint


def test_quadruped_skeleton_is_fitted_to_the_body(quadruped: tuple[Mesh, StepOutput]) -> None:
    mesh, output = quadruped
    skeleton = _models(output)["rigged"].skeleton
    assert skeleton is not None
    assert skeleton.names == [name for name, _ in quadruped_layout(3)]
    feet = {leg: _joint(skeleton, f"{leg}Foot") for leg in QUADRUPED_LEGS}
    assert all(foot[1] < 0.12 for foot in feet.values())
    assert feet["FrontLeft"][2] > 0.1 > -0.1 > feet["HindLeft"][2]
    assert feet["FrontLeft"][0] > 0 > feet["FrontRight"][0]
    muzzle = skeleton.tails[skeleton.names.index("Head")]
    assert abs(muzzle[2] - mesh.positions[:, 2].max()) < 0.06
    tail_tip = skeleton.tails[skeleton.names.index("Tail3")]
    assert abs(tail_tip[2] - mesh.positions[:, 2].min()) < 0.06
    assert _joint(skeleton, "Hips")[2] < _joint(skeleton, "Spine2")[2] < _joint(skeleton, "Head")[2]


def test_quadruped_without_a_tail_gets_no_tail_bones() -> None:
    output = _rig(_request({"mesh": quadruped_mesh(tail=False)}, QUADRUPED))
    skeleton = _models(output)["rigged"].skeleton
    assert skeleton is not None
    assert not any(name.startswith("Tail") for name in skeleton.names)
    assert any("no tail" in note for note in output.notes)


# --- skin weights -----------------------------------------------------------------------------


def test_skin_weights_meet_the_rig_rules(
    humanoid: tuple[Mesh, StepOutput], quadruped: tuple[Mesh, StepOutput]
) -> None:
    for output in (humanoid[1], quadruped[1]):
        for model in _models(output).values():
            assert_skin_rules(model)


def test_limb_vertices_follow_their_limb(humanoid: tuple[Mesh, StepOutput]) -> None:
    model = _models(humanoid[1])["rigged"]
    assert model.skeleton is not None
    names = model.skeleton.names
    positions = model.mesh.positions
    dominant = _dominant(model)

    def owners(selection: np.ndarray) -> set[str]:
        return {names[j] for j in np.unique(dominant[selection])}

    assert owners(positions[:, 0] > positions[:, 0].max() - 0.05) <= {"LeftHand", "LeftForeArm"}
    assert owners(positions[:, 0] < positions[:, 0].min() + 0.05) <= {"RightHand", "RightForeArm"}
    assert owners(positions[:, 1] > positions[:, 1].max() - 0.05) <= {"Head"}
    right_foot = (positions[:, 1] < 0.04) & (positions[:, 0] < 0)
    assert owners(right_foot) <= {"RightFoot", "RightToeBase", "RightLeg"}


def test_lods_get_weights_carried_over_from_lod0(humanoid: tuple[Mesh, StepOutput]) -> None:
    models = _models(humanoid[1])
    assert set(models) == {"rigged", "lod1", "lod2"}
    rigged, lod = models["rigged"], models["lod1"]
    assert lod.skeleton is not None and rigged.skeleton is not None
    assert lod.skeleton.names == rigged.skeleton.names
    assert np.array_equal(lod.skeleton.heads, rigged.skeleton.heads)
    # each LOD vertex agrees with the nearest LOD0 vertex on its main bone, nearly everywhere
    nearest = np.argmin(
        np.linalg.norm(lod.mesh.positions[:, None] - rigged.mesh.positions[None, ::4], axis=2), axis=1
    )
    agree = _dominant(lod) == _dominant(rigged)[::4][nearest]
    assert agree.mean() > 0.85


def test_top_influences_keep_four_without_seams() -> None:
    dense = np.array(
        [
            [0.3, 0.25, 0.2, 0.15, 0.1, 0.0],  # five influences: the fifth is subtracted, so it enters at 0
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.2, 0.2, 0.2, 0.2, 0.2, 0.0],  # a five-way tie: the first bone alone
        ]
    )
    skin = top_influences(dense)
    assert np.allclose(skin.weights.sum(axis=1), 1.0)
    assert np.allclose(skin.weights[0], np.array([0.2, 0.15, 0.1, 0.05]) / 0.5)
    assert list(skin.joints[0]) == [0, 1, 2, 3]
    assert skin.weights[1, 0] == 1.0 and skin.weights[2, 0] == 1.0


# --- the step ---------------------------------------------------------------------------------


def test_rigging_is_deterministic() -> None:
    request = _request({"mesh": humanoid_mesh(20.0)})
    first, second = _rig(request), _rig(request)
    assert [f.data for f in first.files] == [f.data for f in second.files]


def test_static_rig_passes_the_mesh_through() -> None:
    request = _request({"mesh": box_mesh(), "lod1": box_mesh(0.5)}, job_pb2.RIG_TYPE_STATIC)
    output = _rig(request)
    assert {f.name: f.data for f in output.files} == {
        "rigged": request.inputs["mesh"].data,
        "lod1": request.inputs["lod1"].data,
    }
    assert read_glb(output.files[0].data).skeleton is None


@pytest.mark.parametrize(
    ("prompt", "mesh", "expected"),
    [("a wooden treasure chest", box_mesh(), None), ("a grey wolf", quadruped_mesh(), "Tail1")],
)
def test_unspecified_rig_type_is_read_from_the_prompt(prompt: str, mesh: Mesh, expected: str | None) -> None:
    output = _rig(_request({"mesh": mesh}, job_pb2.RIG_TYPE_UNSPECIFIED, prompt))
    skeleton = read_glb(output.files[0].data).skeleton
    assert (skeleton is None) if expected is None else (skeleton is not None and expected in skeleton.names)
    assert any("no rig type given" in note for note in output.notes)


def test_preview_is_a_small_png(humanoid: tuple[Mesh, StepOutput]) -> None:
    preview = humanoid[1].preview_png
    assert preview is not None and preview.startswith(b"\x89PNG")
    width, height = int.from_bytes(preview[16:20], "big"), int.from_bytes(preview[20:24], "big")
    assert width <= 256 and height <= 256


def test_rigged_glbs_pass_the_gltf_validator(humanoid: tuple[Mesh, StepOutput]) -> None:
    for output_file in humanoid[1].files:
        assert_valid_glb(output_file.data)


# --- bad inputs -------------------------------------------------------------------------------


def _open_surface() -> Mesh:
    mesh = humanoid_mesh()
    return Mesh(positions=mesh.positions, faces=mesh.faces[: mesh.face_count // 2])


@pytest.mark.parametrize(
    ("inputs", "rig_type", "params", "code", "fragment"),
    [
        (
            {"mesh": Mesh(np.zeros((3, 3), np.float32), np.zeros((0, 3), np.uint32))},
            HUMANOID,
            {},
            "EMPTY_MESH",
            "no faces",
        ),
        ({"mesh": _open_surface()}, HUMANOID, {}, "NON_MANIFOLD", "open"),
        ({"mesh": b"not a glb at all"}, HUMANOID, {}, "INVALID_INPUT", "GLB"),
        ({}, HUMANOID, {}, "INVALID_INPUT", "'mesh' is missing"),
        ({"mesh": box_mesh()}, HUMANOID, {}, "INVALID_INPUT", "humanoid"),
        ({"mesh": box_mesh()}, QUADRUPED, {}, "INVALID_INPUT", "quadruped"),
        ({"mesh": humanoid_mesh()}, HUMANOID, {"colour": "red"}, "INVALID_PARAMS", "rig.colour"),
        ({"mesh": humanoid_mesh()}, HUMANOID, {"resolution": 10}, "INVALID_PARAMS", "rig.resolution"),
        (
            {
                "mesh": humanoid_mesh(),
                "lod1": Mesh(np.zeros((3, 3), np.float32), np.zeros((0, 3), np.uint32)),
            },
            HUMANOID,
            {},
            "EMPTY_MESH",
            "lod1",
        ),
    ],
)
def test_bad_inputs_fail_with_a_clear_code(
    inputs: dict[str, Mesh | bytes], rig_type: int, params: dict[str, Any], code: str, fragment: str
) -> None:
    with pytest.raises(StepError) as raised:
        _rig(_request(inputs, rig_type, params=params))
    assert raised.value.code == code
    assert fragment in raised.value.message


def test_non_finite_positions_are_refused() -> None:
    mesh = humanoid_mesh()
    mesh.positions[5] = np.nan
    with pytest.raises(StepError) as raised:
        check_riggable(mesh, [])
    assert raised.value.code == ErrorCode.INVALID_INPUT


# --- blender ----------------------------------------------------------------------------------


@pytest.mark.blender
@needs_blender
def test_blender_backend_rigs_with_automatic_weights() -> None:
    output = _rig(_request({"mesh": humanoid_mesh(20.0), "lod1": humanoid_mesh(20.0)}), backend="blender")
    models = _models(output)
    for model in models.values():
        assert_skin_rules(model)
    rigged = models["rigged"]
    assert rigged.skeleton is not None
    hand = rigged.skeleton.names.index("LeftHand")
    tip = rigged.mesh.positions[:, 0] > rigged.mesh.positions[:, 0].max() - 0.05
    assert set(_dominant(rigged)[tip]) <= {hand, hand - 1}


@pytest.mark.blender
@needs_blender
def test_blender_falls_back_to_envelopes_where_heat_fails() -> None:
    """A part no bone can see gets no bone heat (silently): envelopes weight it, and a note says so."""
    body, island = humanoid_mesh(), box_mesh(0.2)
    positions = np.vstack([body.positions, island.positions + np.float32([0.0, 2.2, 0.0])])
    faces = np.vstack([body.faces, island.faces + np.uint32(body.vertex_count)])
    output = _rig(
        _request({"mesh": Mesh(positions.astype(np.float32), faces.astype(np.uint32))}), backend="blender"
    )
    assert_skin_rules(_models(output)["rigged"])
    assert any("envelope weights" in note for note in output.notes)
