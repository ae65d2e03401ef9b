"""GLB I/O: round trips, Draco, files from other tools, and hostile bytes."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation

from assetcore.geometry.gltf import pack_glb, read_glb, unpack_glb, write_glb
from assetcore.geometry.gltf_animation import resample_channel
from assetcore.geometry.model import Mesh, Model, Skin
from assetcore.worker.backend import ErrorCode, StepError
from tests.support.gltf_validator import assert_valid_glb
from tests.support.synthetic_models import box_mesh, chain_model, checker_png, creature_model


def _as_blender_writes_it(model: Model) -> bytes:
    """The model's GLB re-rigged with random rest rotations (as Blender's bones have), same pose."""
    assert model.skeleton is not None
    document, binary = unpack_glb(write_glb(model))
    assert binary is not None
    data = bytearray(binary)

    def put(accessor: int, values: np.ndarray) -> None:
        view = document["bufferViews"][document["accessors"][accessor]["bufferView"]]
        data[view["byteOffset"] : view["byteOffset"] + view["byteLength"]] = values.astype("<f4").tobytes()

    heads, parents = model.skeleton.heads.astype(np.float64), model.skeleton.parents
    joint_nodes = document["skins"][0]["joints"]
    rests = Rotation.random(len(joint_nodes), random_state=3)
    binds: list[Rotation] = []
    for joint, node in enumerate(joint_nodes):
        parent_bind = binds[parents[joint]] if parents[joint] >= 0 else Rotation.identity()
        offset = heads[joint] - (heads[parents[joint]] if parents[joint] >= 0 else 0.0)
        document["nodes"][node]["translation"] = parent_bind.inv().apply(offset).tolist()
        document["nodes"][node]["rotation"] = rests[joint].as_quat().tolist()
        binds.append(parent_bind * rests[joint])
    inverse_binds = np.tile(np.eye(4), (len(joint_nodes), 1, 1))
    for joint, bind in enumerate(binds):
        inverse_binds[joint, :3, :3] = bind.inv().as_matrix()
        inverse_binds[joint, :3, 3] = -bind.inv().apply(heads[joint])
    put(document["skins"][0]["inverseBindMatrices"], inverse_binds.transpose(0, 2, 1).reshape(-1, 16))
    for animation, clip in zip(document["animations"], model.clips, strict=True):
        for channel in animation["channels"]:
            joint = joint_nodes.index(channel["target"]["node"])
            if channel["target"]["path"] == "rotation":
                frame = binds[parents[joint]] if parents[joint] >= 0 else Rotation.identity()
                posed = frame.inv() * Rotation.from_quat(clip.rotations[:, joint]) * frame * rests[joint]
                put(animation["samplers"][channel["sampler"]]["output"], posed.as_quat())
        animation.pop("extras")
    return pack_glb(document, bytes(data))


def _sorted_rows(values: np.ndarray) -> np.ndarray:
    return values[np.lexsort(values.T[::-1])]


def test_textured_box_round_trips_exactly() -> None:
    mesh = box_mesh(textured=True, segments=2)
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    back = read_glb(data).mesh
    np.testing.assert_array_equal(back.positions, mesh.positions)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_array_equal(back.normals, mesh.normals)
    np.testing.assert_array_equal(back.uvs, mesh.uvs)
    assert back.texture_png == mesh.texture_png
    assert back.colors is None
    assert back.name == "box"


def test_vertex_colours_round_trip() -> None:
    mesh = box_mesh(colored=True, segments=3)
    data = write_glb(Model(mesh=mesh))
    assert_valid_glb(data, strict=True)
    back = read_glb(data).mesh
    np.testing.assert_array_equal(back.colors, mesh.colors)
    assert back.texture_png is None


def test_skinned_animated_model_round_trips() -> None:
    model = chain_model(joints=3, clips=2)
    data = write_glb(model)
    report = assert_valid_glb(data, strict=True)
    assert report["info"]["animationCount"] == 2
    back = read_glb(data)
    assert back.skeleton is not None and back.skin is not None and model.skeleton is not None
    assert back.skeleton.names == model.skeleton.names
    np.testing.assert_array_equal(back.skeleton.parents, model.skeleton.parents)
    np.testing.assert_allclose(back.skeleton.heads, model.skeleton.heads, atol=1e-6)
    np.testing.assert_array_equal(back.skeleton.tails, model.skeleton.tails)
    np.testing.assert_array_equal(back.skin.joints, model.skin.joints)
    np.testing.assert_allclose(back.skin.weights, model.skin.weights, atol=1e-6)
    assert [c.name for c in back.clips] == [c.name for c in model.clips]
    for clip, original in zip(back.clips, model.clips, strict=True):
        assert (clip.fps, clip.loop, clip.frame_count) == (original.fps, original.loop, original.frame_count)
        np.testing.assert_allclose(clip.rotations, original.rotations, atol=1e-7)
        np.testing.assert_allclose(clip.root_translations, original.root_translations, atol=1e-7)


def test_rest_rotations_from_other_tools_become_identity_rests() -> None:
    model = creature_model("humanoid")
    data = _as_blender_writes_it(model)
    assert_valid_glb(data, strict=True)
    back = read_glb(data)
    assert back.skeleton is not None and model.skeleton is not None
    np.testing.assert_allclose(back.skeleton.heads, model.skeleton.heads, atol=1e-5)
    for clip, original in zip(back.clips, model.clips, strict=True):
        assert clip.fps == original.fps and clip.loop
        same_turn = np.abs(np.sum(clip.rotations * original.rotations, axis=-1))  # q and -q agree
        np.testing.assert_allclose(same_turn, 1.0, atol=1e-5)
        np.testing.assert_allclose(clip.root_translations, original.root_translations, atol=1e-5)


def test_output_is_deterministic() -> None:
    model = creature_model("humanoid")
    assert write_glb(model) == write_glb(model)
    assert write_glb(model, draco=True) == write_glb(model, draco=True)


@pytest.mark.parametrize("kind", ["static", "skinned"])
def test_draco_files_validate_and_decode(kind: str) -> None:
    model = (
        Model(mesh=box_mesh(textured=True, segments=3)) if kind == "static" else creature_model("quadruped")
    )
    data = write_glb(model, draco=True)
    report = assert_valid_glb(data, strict=True)
    document, _ = unpack_glb(data)
    assert document["extensionsRequired"] == ["KHR_draco_mesh_compression"]
    assert len(data) < len(write_glb(model))
    assert report["issues"]["numErrors"] == 0
    back = read_glb(data)
    assert back.mesh.face_count == model.mesh.face_count
    assert back.mesh.vertex_count == model.mesh.vertex_count
    np.testing.assert_allclose(
        _sorted_rows(back.mesh.positions),
        _sorted_rows(model.mesh.positions),
        atol=np.ptp(model.mesh.positions) * 1e-3,
    )
    assert back.mesh.texture_png == model.mesh.texture_png
    if kind == "skinned":
        assert back.skin is not None and back.skeleton is not None
        np.testing.assert_allclose(back.skin.weights.sum(axis=1), 1.0, atol=1e-6)
        assert len(back.clips) == len(model.clips)
        np.testing.assert_allclose(back.clips[0].rotations, model.clips[0].rotations, atol=1e-7)


def test_messy_weights_are_cleaned_for_the_validator() -> None:
    model = chain_model(joints=3)
    assert model.skin is not None
    count = model.mesh.vertex_count
    joints = np.tile(np.array([[1, 1, 2, 0]], np.uint16), (count, 1))  # joint 1 twice
    weights = np.tile(np.array([[0.3, 0.3, 0.6, 0.0]], np.float32), (count, 1))  # sums to 1.2
    weights[0] = 0.0  # a vertex with no weight at all
    model.skin = Skin(joints=joints, weights=weights)
    data = write_glb(model)
    assert_valid_glb(data, strict=True)
    skin = read_glb(data).skin
    assert skin is not None
    np.testing.assert_allclose(skin.weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(skin.weights[1], [0.5, 0.0, 0.5, 0.0], atol=1e-6)
    assert skin.joints[0, 0] == 0 and skin.weights[0, 0] == pytest.approx(1.0)


def test_mesh_with_no_faces_is_written_and_read_back_empty() -> None:
    empty = Mesh(positions=np.zeros((0, 3), np.float32), faces=np.zeros((0, 3), np.uint32))
    data = write_glb(Model(mesh=empty))
    assert_valid_glb(data)
    assert read_glb(data).mesh.face_count == 0


def test_inconsistent_model_is_refused_before_writing() -> None:
    mesh = box_mesh()
    mesh.uvs = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"mesh\.uvs"):
        write_glb(Model(mesh=mesh))


def test_reads_a_textured_glb_from_trimesh() -> None:
    box = trimesh.creation.box(extents=(1.0, 2.0, 1.0))
    uv = np.random.default_rng(0).random((len(box.vertices), 2))
    image = Image.open(io.BytesIO(checker_png()))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    data = box.export(file_type="glb")
    mesh = read_glb(data).mesh
    assert mesh.face_count == 12
    assert mesh.texture_png is not None and mesh.texture_png.startswith(b"\x89PNG")
    assert mesh.uvs is not None and mesh.uvs.shape == (mesh.vertex_count, 2)
    assert np.ptp(mesh.positions[:, 1]) == pytest.approx(2.0)


def test_reads_a_multi_mesh_scene_with_transforms_merged() -> None:
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(), node_name="a")
    scene.add_geometry(
        trimesh.creation.icosphere(1),
        node_name="b",
        transform=trimesh.transformations.translation_matrix((5, 0, 0)),
    )
    mesh = read_glb(scene.export(file_type="glb")).mesh
    assert mesh.face_count == 12 + 80
    assert mesh.positions[:, 0].max() == pytest.approx(6.0, abs=1e-5)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a glb at all",
        b"glTF" + b"\x02\x00\x00\x00" + b"\xff" * 16,
        b"glTF\x01\x00\x00\x00" + bytes(16),
    ],
    ids=["empty", "text", "truncated", "version1"],
)
def test_garbage_bytes_are_an_invalid_input(data: bytes) -> None:
    with pytest.raises(StepError) as caught:
        read_glb(data)
    assert caught.value.code == ErrorCode.INVALID_INPUT


def test_malformed_documents_are_an_invalid_input() -> None:
    document, binary = unpack_glb(write_glb(chain_model()))
    assert binary is not None
    broken = json.loads(json.dumps(document))
    broken["accessors"][0]["count"] = 10**6  # reads past its buffer view
    with pytest.raises(StepError, match="INVALID_INPUT"):
        read_glb(pack_glb(broken, binary))
    cyclic = json.loads(json.dumps(document))
    cyclic["nodes"][1]["children"] = [1]
    with pytest.raises(StepError, match="INVALID_INPUT"):
        read_glb(pack_glb(cyclic, binary))


def test_corrupted_files_only_ever_raise_step_errors() -> None:
    """Random byte flips anywhere in a skinned Draco file: a Model or INVALID_INPUT, nothing else."""
    original = write_glb(chain_model(clips=1), draco=True)
    rng = random.Random(7)
    for _ in range(300):
        corrupted = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        try:
            read_glb(bytes(corrupted))
        except StepError as exc:
            assert exc.code == ErrorCode.INVALID_INPUT


def test_resampling_interpolates_between_keys() -> None:
    times = np.array([0.0, 1.0])
    frames = np.array([0.0, 0.5, 1.0, 2.0], np.float32)
    linear = resample_channel(times, np.array([[0.0], [2.0]]), "LINEAR", frames, rotation=False)
    np.testing.assert_allclose(linear[:, 0], [0.0, 1.0, 2.0, 2.0])
    step = resample_channel(times, np.array([[0.0], [2.0]]), "STEP", frames, rotation=False)
    np.testing.assert_allclose(step[:, 0], [0.0, 0.0, 2.0, 2.0])
    turn = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, -0.8, -0.6]])  # the same turn as (0, 0, 0.8, 0.6)
    rotation = resample_channel(times, turn, "LINEAR", frames, rotation=True)
    np.testing.assert_allclose(np.linalg.norm(rotation, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(rotation[1], np.array([0.0, 0.0, 0.4, 0.8]) / np.sqrt(0.8), atol=1e-6)
