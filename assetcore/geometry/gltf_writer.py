"""The writing half of GLB I/O: a Model as a glTF JSON document plus its BIN chunk."""

from __future__ import annotations

from typing import Any

import numpy as np

from assetcore.geometry.gltf_binary import BinaryBuilder
from assetcore.geometry.gltf_constants import (
    ARRAY_BUFFER,
    DRACO,
    ELEMENT_ARRAY_BUFFER,
    EXTRA_FPS,
    EXTRA_LOOP,
    EXTRA_QUADS,
    EXTRA_TAIL,
    LINEAR,
    LINEAR_MIPMAP_LINEAR,
    METAL_ROUGH_ATTRIBUTE,
    PNG_SIGNATURE,
)
from assetcore.geometry.gltf_draco import add_draco_primitive
from assetcore.geometry.model import Clip, Mesh, Model, Skeleton, Skin
from assetcore.geometry.posing import rest_translations, rest_world_rotations

GENERATOR = "assetcore"
ROUGHNESS = 0.8  # matte: the factors of a mesh without a metallic-roughness texture


def build_document(model: Model, *, draco: bool = False) -> tuple[dict[str, Any], bytes]:
    """The glTF JSON and the binary buffer of `model` (layout: see assetcore.geometry.gltf)."""
    _check_model(model)
    builder = BinaryBuilder()
    document: dict[str, Any] = {"asset": {"version": "2.0", "generator": GENERATOR}}
    nodes: list[dict[str, Any]] = []
    scene_nodes: list[int] = []
    mesh = model.mesh
    if mesh.face_count:
        primitive = _add_primitive(builder, mesh, model.skin, draco=draco)
        primitive["material"] = 0
        document["materials"] = [_add_material(builder, document, mesh)]
        document["meshes"] = [{"name": mesh.name, "primitives": [primitive]}]
        nodes.append({"name": mesh.name, "mesh": 0})
        scene_nodes.append(0)
        if model.skeleton is not None:
            joint_nodes = _add_skeleton(nodes, scene_nodes, model.skeleton)
            nodes[0]["skin"] = 0
            document["skins"] = [_skin(builder, model.skeleton, joint_nodes)]
            if model.clips:
                document["animations"] = [
                    _animation(builder, clip, model.skeleton, joint_nodes) for clip in model.clips
                ]
        if draco:
            document["extensionsUsed"] = [DRACO]
            document["extensionsRequired"] = [DRACO]
    document["scene"] = 0
    document["scenes"] = [{"nodes": scene_nodes}] if scene_nodes else [{}]
    if nodes:
        document["nodes"] = nodes
    if builder.accessors:
        document["accessors"] = builder.accessors
        document["bufferViews"] = builder.buffer_views
        binary = builder.data()
        document["buffers"] = [{"byteLength": len(binary) + (-len(binary) % 4)}]
    else:
        binary = b""
    return _ordered(document), binary


def _check_model(model: Model) -> None:
    """Shape errors are bugs in the caller: fail loudly before writing a broken file."""
    mesh = model.mesh
    vertices = mesh.vertex_count
    _expect(mesh.positions, (vertices, 3), "mesh.positions")
    _expect(mesh.faces, (mesh.face_count, 3), "mesh.faces")
    if mesh.face_count and (mesh.faces.min() < 0 or mesh.faces.max() >= vertices):
        raise ValueError(f"mesh.faces index outside 0..{vertices - 1}")
    if not 0 <= mesh.quad_count <= mesh.face_count // 2:
        raise ValueError(f"mesh.quad_count {mesh.quad_count} outside 0..{mesh.face_count // 2}")
    for name, width in (("normals", 3), ("uvs", 2), ("colors", 4), ("tangents", 4), ("metal_rough", 2)):
        values = getattr(mesh, name)
        if values is not None:
            _expect(values, (vertices, width), f"mesh.{name}")
    if mesh.texture_png is not None and not mesh.texture_png.startswith(PNG_SIGNATURE):
        raise ValueError("mesh.texture_png is not a PNG")
    if mesh.texture_png is not None and mesh.uvs is None:
        raise ValueError("mesh.texture_png needs mesh.uvs")
    if mesh.normal_png is not None and not mesh.normal_png.startswith(PNG_SIGNATURE):
        raise ValueError("mesh.normal_png is not a PNG")
    if mesh.normal_png is not None and (mesh.uvs is None or mesh.tangents is None or mesh.normals is None):
        raise ValueError("mesh.normal_png needs mesh.uvs, mesh.normals and mesh.tangents (its tangent space)")
    if mesh.metal_rough_png is not None and not mesh.metal_rough_png.startswith(PNG_SIGNATURE):
        raise ValueError("mesh.metal_rough_png is not a PNG")
    if mesh.metal_rough_png is not None and mesh.uvs is None:
        raise ValueError("mesh.metal_rough_png needs mesh.uvs")
    skeleton = model.skeleton
    if (skeleton is None) != (model.skin is None):
        raise ValueError("a model needs both a skeleton and a skin, or neither")
    if skeleton is None:
        return
    joints = skeleton.joint_count
    if joints == 0:
        raise ValueError("skeleton has no joints")
    _expect(skeleton.parents, (joints,), "skeleton.parents")
    _expect(skeleton.heads, (joints, 3), "skeleton.heads")
    _expect(skeleton.tails, (joints, 3), "skeleton.tails")
    if skeleton.rest_rotations is not None:
        _expect(skeleton.rest_rotations, (joints, 4), "skeleton.rest_rotations")
    if any(not -1 <= parent < index for index, parent in enumerate(skeleton.parents.tolist())):
        raise ValueError("skeleton.parents: every parent must precede its child (root: -1)")
    skin = model.skin
    assert skin is not None
    _expect(skin.joints, (vertices, 4), "skin.joints")
    _expect(skin.weights, (vertices, 4), "skin.weights")
    if vertices and int(skin.joints.max()) >= joints:
        raise ValueError(f"skin.joints index outside 0..{joints - 1}")
    for clip in model.clips:
        if clip.frame_count == 0 or not clip.fps > 0:
            raise ValueError(f"clip {clip.name!r} needs at least one frame and fps > 0")
        _expect(clip.rotations, (clip.frame_count, joints, 4), f"clip {clip.name!r} rotations")
        _expect(clip.root_translations, (clip.frame_count, 3), f"clip {clip.name!r} root_translations")


def _expect(array: np.ndarray[Any, Any], shape: tuple[int, ...], what: str) -> None:
    if array.shape != shape:
        raise ValueError(f"{what} has shape {array.shape}, expected {shape}")


def _add_primitive(builder: BinaryBuilder, mesh: Mesh, skin: Skin | None, *, draco: bool) -> dict[str, Any]:
    attributes: dict[str, np.ndarray[Any, Any]] = {"POSITION": np.asarray(mesh.positions, np.float32)}
    if mesh.normals is not None:
        attributes["NORMAL"] = _unit_vectors(mesh.normals)
    if mesh.uvs is not None:
        attributes["TEXCOORD_0"] = np.asarray(mesh.uvs, np.float32)
    if mesh.colors is not None:
        attributes["COLOR_0"] = np.clip(np.asarray(mesh.colors, np.float32), 0.0, 1.0)
    if mesh.tangents is not None and mesh.normals is not None:  # glTF ignores tangents without normals
        attributes["TANGENT"] = _unit_tangents(mesh.tangents)
    if mesh.metal_rough is not None:
        attributes[METAL_ROUGH_ATTRIBUTE] = np.clip(
            np.nan_to_num(np.asarray(mesh.metal_rough, np.float32)), 0, 1
        )
    if skin is not None:
        attributes["JOINTS_0"], attributes["WEIGHTS_0"] = clean_skin_weights(skin)
    faces = np.asarray(mesh.faces, np.uint32)
    if draco:  # Draco reorders the triangles, so the quad pairs (Mesh.quad_count) are not kept
        return add_draco_primitive(builder, attributes, faces)
    accessors = {
        name: builder.add_accessor(values, target=ARRAY_BUFFER, bounds=name == "POSITION")
        for name, values in attributes.items()
    }
    index_dtype = np.uint16 if mesh.vertex_count < 0xFFFF else np.uint32  # 0xFFFF is primitive restart
    indices = builder.add_accessor(faces.astype(index_dtype).reshape(-1), target=ELEMENT_ARRAY_BUFFER)
    primitive: dict[str, Any] = {"attributes": accessors, "indices": indices}
    if mesh.quad_count:
        primitive["extras"] = {EXTRA_QUADS: int(mesh.quad_count)}
    return primitive


def _unit_vectors(vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Unit-length float32 normals; zero or non-finite ones become +Y (glTF requires unit normals)."""
    vectors = np.asarray(vectors, np.float64)
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    bad = ~(np.isfinite(lengths) & (lengths > 1e-12))[:, 0]
    unit = np.divide(vectors, lengths, out=np.zeros_like(vectors), where=~bad[:, None])
    unit[bad] = (0.0, 1.0, 0.0)
    return unit.astype(np.float32)


def _unit_tangents(tangents: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Unit-length float32 xyz (as normals) with w exactly +-1: the validator checks both."""
    values = np.asarray(tangents, np.float64)
    unit = _unit_vectors(values[:, :3])
    handedness = np.where(values[:, 3] < 0, -1.0, 1.0).astype(np.float32)
    return np.column_stack([unit, handedness])


def clean_skin_weights(skin: Skin) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """JOINTS_0/WEIGHTS_0 as the validator wants them.

    Duplicate joints in a vertex are merged, rows are normalized (an all-zero row binds to
    joint 0), unused slots point at joint 0, and each row sums to 1 in float32.
    """
    joints = np.asarray(skin.joints, np.uint16).copy()
    weights = np.clip(np.nan_to_num(np.asarray(skin.weights, np.float64)), 0.0, None)
    for later in range(1, 4):
        for earlier in range(later):
            duplicate = (joints[:, later] == joints[:, earlier]) & (weights[:, later] > 0)
            weights[duplicate, earlier] += weights[duplicate, later]
            weights[duplicate, later] = 0.0
    totals = weights.sum(axis=1)
    empty = totals <= 0
    weights[empty] = (1.0, 0.0, 0.0, 0.0)
    joints[empty, 0] = 0
    weights /= weights.sum(axis=1, keepdims=True)
    result = weights.astype(np.float32)
    heaviest = result.argmax(axis=1)
    rows = np.arange(len(result))
    others = result.sum(axis=1, dtype=np.float32) - result[rows, heaviest]
    result[rows, heaviest] = np.float32(1.0) - others
    joints[result == 0] = 0
    return joints, result


def _add_material(builder: BinaryBuilder, document: dict[str, Any], mesh: Mesh) -> dict[str, Any]:
    pbr: dict[str, Any] = {
        "baseColorFactor": [1.0, 1.0, 1.0, 1.0],
        "metallicFactor": 0.0,
        "roughnessFactor": ROUGHNESS,
    }
    material: dict[str, Any] = {"name": f"{mesh.name}_material", "pbrMetallicRoughness": pbr}
    if mesh.texture_png is not None:
        pbr["baseColorTexture"] = {"index": _add_texture(builder, document, mesh.texture_png)}
    if mesh.metal_rough_png is not None:  # the texture holds the values: factors 1 leave them as they are
        pbr["metallicRoughnessTexture"] = {"index": _add_texture(builder, document, mesh.metal_rough_png)}
        pbr["metallicFactor"] = pbr["roughnessFactor"] = 1.0
    if mesh.normal_png is not None:
        material["normalTexture"] = {"index": _add_texture(builder, document, mesh.normal_png)}
    return material


def _add_texture(builder: BinaryBuilder, document: dict[str, Any], png: bytes) -> int:
    """An embedded PNG image and a texture of it (one shared sampler); the texture's index."""
    view = builder.add_view(png)
    images = document.setdefault("images", [])
    images.append({"bufferView": view, "mimeType": "image/png"})
    document.setdefault("samplers", [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR}])
    textures = document.setdefault("textures", [])
    textures.append({"sampler": 0, "source": len(images) - 1})
    return len(textures) - 1


def _add_skeleton(nodes: list[dict[str, Any]], scene_nodes: list[int], skeleton: Skeleton) -> list[int]:
    """Append one node per joint (in skeleton order); return their node indices."""
    first = len(nodes)
    translations = rest_translations(skeleton).astype(np.float32)
    rotations = None if skeleton.rest_rotations is None else unit_quaternions(skeleton.rest_rotations)
    tails = np.asarray(skeleton.tails, np.float32)
    for joint, name in enumerate(skeleton.names):
        node: dict[str, Any] = {"name": name, "extras": {EXTRA_TAIL: tails[joint].tolist()}}
        if rotations is not None and abs(float(rotations[joint, 3])) < 1.0:
            node["rotation"] = rotations[joint].tolist()
        if np.any(translations[joint]):
            node["translation"] = translations[joint].tolist()
        nodes.append(node)
    for joint, parent in enumerate(skeleton.parents.tolist()):
        if parent < 0:
            scene_nodes.append(first + joint)
        else:
            nodes[first + parent].setdefault("children", []).append(first + joint)
    return list(range(first, first + skeleton.joint_count))


def _skin(builder: BinaryBuilder, skeleton: Skeleton, joint_nodes: list[int]) -> dict[str, Any]:
    """Bind pose = rest pose: each inverse bind matrix undoes the joint's rest frame (head and world
    rest rotation W): [W^T | -W^T head]."""
    inverse = np.swapaxes(rest_world_rotations(skeleton), -1, -2)
    matrices = np.tile(np.eye(4), (skeleton.joint_count, 1, 1))
    matrices[:, :3, :3] = inverse
    matrices[:, :3, 3] = -np.einsum("jab,jb->ja", inverse, np.asarray(skeleton.heads, np.float64))
    matrices = matrices.astype(np.float32)
    column_major = matrices.transpose(0, 2, 1).reshape(-1, 16)
    skin: dict[str, Any] = {"inverseBindMatrices": builder.add_accessor(column_major), "joints": joint_nodes}
    roots = [joint_nodes[j] for j, parent in enumerate(skeleton.parents.tolist()) if parent < 0]
    if len(roots) == 1:
        skin["skeleton"] = roots[0]
    return skin


def _animation(
    builder: BinaryBuilder, clip: Clip, skeleton: Skeleton, joint_nodes: list[int]
) -> dict[str, Any]:
    times = (np.arange(clip.frame_count, dtype=np.float64) / clip.fps).astype(np.float32)
    time_accessor = builder.add_accessor(times, bounds=True)
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []

    def channel(node: int, path: str, values: np.ndarray[Any, Any]) -> None:
        output = builder.add_accessor(values)
        samplers.append({"input": time_accessor, "interpolation": "LINEAR", "output": output})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})

    rotations = unit_quaternions(clip.rotations)
    for joint, node in enumerate(joint_nodes):
        channel(node, "rotation", rotations[:, joint])
    root = int(np.flatnonzero(np.asarray(skeleton.parents) < 0)[0])
    root_rest = rest_translations(skeleton)[root].astype(np.float32)
    channel(joint_nodes[root], "translation", (root_rest + clip.root_translations).astype(np.float32))
    return {
        "name": clip.name,
        "channels": channels,
        "samplers": samplers,
        "extras": {EXTRA_FPS: float(clip.fps), EXTRA_LOOP: bool(clip.loop)},
    }


def unit_quaternions(quaternions: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """float32 unit quaternions; degenerate ones become identity."""
    values = np.asarray(quaternions, np.float64)
    lengths = np.linalg.norm(values, axis=-1, keepdims=True)
    good = np.isfinite(lengths) & (lengths > 1e-12)
    unit = np.divide(values, lengths, out=np.zeros_like(values), where=good)
    unit[~good[..., 0]] = (0.0, 0.0, 0.0, 1.0)
    return unit.astype(np.float32)


_KEY_ORDER = (
    "asset",
    "extensionsUsed",
    "extensionsRequired",
    "scene",
    "scenes",
    "nodes",
    "meshes",
    "materials",
    "textures",
    "images",
    "samplers",
    "skins",
    "animations",
    "accessors",
    "bufferViews",
    "buffers",
)


def _ordered(document: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys in a fixed, readable order."""
    return {key: document[key] for key in _KEY_ORDER if key in document}
