"""The reading half of GLB I/O: a parsed glTF document (plus BIN chunk) as a Model.

Anything malformed becomes StepError(INVALID_INPUT); the caller never sees a KeyError.
"""

from __future__ import annotations

import base64
import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from assetcore.geometry.gltf_animation import (
    identity_rest_rotations,
    matrix_quaternions,
    quaternion_inverse,
    quaternion_multiply,
    resample_channel,
)
from assetcore.geometry.gltf_constants import (
    COMPONENT_DTYPES,
    DRACO,
    EXTRA_FPS,
    EXTRA_LOOP,
    EXTRA_QUADS,
    EXTRA_TAIL,
    METAL_ROUGH_ATTRIBUTE,
    PNG_SIGNATURE,
    TRIANGLES,
    TYPE_SIZES,
)
from assetcore.geometry.gltf_draco import decode_draco_primitive
from assetcore.geometry.model import Clip, Mesh, Model, Skeleton, Skin
from assetcore.worker.backend import ErrorCode, StepError

DEFAULT_FPS = 30.0
MAX_FRAMES = 100_000  # an hour at 30 fps
MAX_ELEMENTS = 1 << 26  # per accessor: far above any asset, far below what exhausts memory
_PARSE_ERRORS = (LookupError, ValueError, TypeError, AttributeError, struct.error, OverflowError, OSError)


def parse_document(document: dict[str, Any], binary: bytes | None, *, rest_rotations: bool = False) -> Model:
    """The document as a Model. Joint rest rotations become identity rests (clips re-expressed to
    match), unless `rest_rotations` asks to keep them where the file's rest pose is its bind pose."""
    try:
        return _Reader(document, binary, keep_rest=rest_rotations).model()
    except StepError:
        raise
    except _PARSE_ERRORS as exc:
        raise StepError(
            ErrorCode.INVALID_INPUT, f"mesh GLB: malformed glTF ({type(exc).__name__}: {exc})"
        ) from None


@dataclass
class _Primitive:
    """One triangle primitive in model space, attributes decoded to float (joints to int)."""

    positions: np.ndarray[Any, Any]
    faces: np.ndarray[Any, Any]
    attributes: dict[str, np.ndarray[Any, Any]]
    material: int | None
    quads: int = 0  # extras.quads: triangles 2i and 2i + 1 are quad i (see Mesh.quad_count)


class _Reader:
    def __init__(self, document: dict[str, Any], binary: bytes | None, *, keep_rest: bool = False) -> None:
        self.gltf = document
        self.keep_rest = keep_rest
        self.binary = binary
        self.nodes: list[dict[str, Any]] = document.get("nodes", [])
        self._buffers: dict[int, bytes] = {}
        self.parents = [-1] * len(self.nodes)
        for index, node in enumerate(self.nodes):
            for child in node.get("children", []):
                if not 0 <= child < len(self.nodes) or self.parents[child] != -1 or child == index:
                    raise ValueError(f"node {child} has more than one parent")
                self.parents[child] = index
        self.world = self._world_matrices()

    # ---- buffers and accessors -------------------------------------------------------------

    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            uri = self.gltf["buffers"][index].get("uri")
            if uri is None:
                if index != 0 or self.binary is None:
                    raise ValueError(f"buffer {index} has no data")
                self._buffers[index] = self.binary
            elif uri.startswith("data:") and ";base64," in uri:
                self._buffers[index] = base64.b64decode(uri.split(",", 1)[1])
            else:
                raise StepError(
                    ErrorCode.INVALID_INPUT, f"mesh GLB: external buffer {uri!r} is not supported"
                )
        return self._buffers[index]

    def view(self, index: int) -> tuple[bytes, int, int, int | None]:
        view = self.gltf["bufferViews"][index]
        data = self.buffer(view["buffer"])
        offset = int(view.get("byteOffset", 0))
        length = int(view["byteLength"])
        if offset < 0 or length < 0 or offset + length > len(data):
            raise ValueError(f"bufferView {index} lies outside its buffer")
        return data, offset, length, view.get("byteStride")

    def view_bytes(self, index: int) -> bytes:
        data, offset, length, _ = self.view(index)
        return data[offset : offset + length]

    def accessor(self, index: int) -> np.ndarray[Any, Any]:
        """The accessor's elements, (count, components), floats when normalized."""
        accessor = self.gltf["accessors"][index]
        if "sparse" in accessor:
            raise StepError(ErrorCode.INVALID_INPUT, f"mesh GLB: accessor {index} is sparse (not supported)")
        dtype = COMPONENT_DTYPES[accessor["componentType"]]
        components = TYPE_SIZES[accessor["type"]]
        count = int(accessor["count"])
        if not 0 <= count <= MAX_ELEMENTS:
            raise ValueError(f"accessor {index} has count {count}")
        if "bufferView" not in accessor:
            values = np.zeros((count, components), dtype)
        else:
            data, view_offset, view_length, stride = self.view(accessor["bufferView"])
            offset = view_offset + int(accessor.get("byteOffset", 0))
            element = dtype.itemsize * components
            stride = int(stride or element)
            if offset < view_offset or (
                count and offset + stride * (count - 1) + element > view_offset + view_length
            ):
                raise ValueError(f"accessor {index} reads outside its bufferView")
            values = np.ndarray((count, components), dtype, data, offset, (stride, dtype.itemsize)).copy()
        return normalize_components(values) if accessor.get("normalized") else values

    # ---- scene graph -----------------------------------------------------------------------

    def scene_roots(self) -> list[int]:
        scenes = self.gltf.get("scenes")
        if scenes:
            return list(scenes[int(self.gltf.get("scene", 0))].get("nodes", []))
        return [index for index, parent in enumerate(self.parents) if parent < 0]

    def scene_nodes(self) -> list[int]:
        """Every node of the default scene, parents before children."""
        order: list[int] = []
        seen: set[int] = set()
        pending = list(reversed(self.scene_roots()))
        while pending:
            node = pending.pop()
            if node in seen:
                raise ValueError(f"node {node} is reachable twice")
            seen.add(node)
            order.append(node)
            pending.extend(reversed(self.nodes[node].get("children", [])))
        return order

    def _world_matrices(self) -> dict[int, np.ndarray[Any, Any]]:
        world: dict[int, np.ndarray[Any, Any]] = {}
        for node in self.scene_nodes():
            parent = self.parents[node]
            local = local_matrix(self.nodes[node])
            world[node] = world[parent] @ local if parent in world else local
        return world

    # ---- the model ---------------------------------------------------------------------------

    def model(self) -> Model:
        mesh_nodes = [node for node in self.scene_nodes() if "mesh" in self.nodes[node]]
        skin_index = next((self.nodes[n]["skin"] for n in mesh_nodes if "skin" in self.nodes[n]), None)
        primitives: list[_Primitive] = []
        for node in mesh_nodes:
            skinned = "skin" in self.nodes[node]
            transform = np.eye(4) if skinned else self.world[node]
            for primitive in self.gltf["meshes"][self.nodes[node]["mesh"]]["primitives"]:
                if primitive.get("mode", TRIANGLES) == TRIANGLES:
                    primitives.append(self.primitive(primitive, transform))
        mesh = self.merged_mesh(primitives, name=self._mesh_name(mesh_nodes))
        if skin_index is None:
            return Model(mesh=mesh)
        rig = self.rig(self.gltf["skins"][skin_index])
        skin = merged_skin(primitives, rig.joint_of_slot)
        clips = [self.clip(animation, rig) for animation in self.gltf.get("animations", [])]
        return Model(mesh=mesh, skeleton=rig.skeleton, skin=skin, clips=[c for c in clips if c is not None])

    def _mesh_name(self, mesh_nodes: list[int]) -> str:
        if not mesh_nodes:
            return "mesh"
        node = self.nodes[mesh_nodes[0]]
        return str(node.get("name") or self.gltf["meshes"][node["mesh"]].get("name") or "mesh")

    def primitive(self, primitive: dict[str, Any], transform: np.ndarray[Any, Any]) -> _Primitive:
        names = primitive["attributes"]
        draco = primitive.get("extensions", {}).get(DRACO)
        if draco is not None:
            raw, faces = decode_draco_primitive(self.view_bytes(draco["bufferView"]), draco["attributes"])
            attributes = {name: self._draco_values(names[name], values) for name, values in raw.items()}
        else:
            attributes = {name: self.accessor(accessor) for name, accessor in names.items()}
            count = len(attributes["POSITION"])
            if "indices" in primitive:
                faces = self.accessor(primitive["indices"]).astype(np.int64).reshape(-1)
            else:
                faces = np.arange(count)
            faces = faces[: len(faces) // 3 * 3].reshape(-1, 3)
        positions = np.asarray(attributes.pop("POSITION"), np.float64)
        if any(len(values) != len(positions) for values in attributes.values()):
            raise ValueError("primitive attributes differ in length")
        if faces.size and (faces.min() < 0 or faces.max() >= len(positions)):
            raise ValueError("triangle index outside the vertex range")
        positions = positions @ transform[:3, :3].T + transform[:3, 3]
        if "NORMAL" in attributes:
            normals = np.asarray(attributes["NORMAL"], np.float64) @ np.linalg.inv(transform[:3, :3])
            attributes["NORMAL"] = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        if np.linalg.det(transform[:3, :3]) < 0:
            faces = faces[:, ::-1]  # a mirroring transform flips the winding
        quads = primitive.get("extras", {}).get(EXTRA_QUADS, 0) if draco is None else 0
        if type(quads) is not int or not 0 <= quads <= len(faces) // 2:
            raise ValueError(f"primitive extras.{EXTRA_QUADS} must be an integer in 0..{len(faces) // 2}")
        return _Primitive(
            positions, np.asarray(faces, np.int64), attributes, primitive.get("material"), quads
        )

    def _draco_values(self, accessor_index: int, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        accessor = self.gltf["accessors"][accessor_index]
        values = values.reshape(len(values), -1)
        return normalize_components(values) if accessor.get("normalized") else values

    def merged_mesh(self, primitives: list[_Primitive], *, name: str) -> Mesh:
        if not primitives:
            return Mesh(positions=np.zeros((0, 3), np.float32), faces=np.zeros((0, 3), np.uint32), name=name)
        offsets = np.cumsum([0] + [len(p.positions) for p in primitives])
        faces = np.concatenate([p.faces + offset for p, offset in zip(primitives, offsets, strict=False)])
        texture, texture_png = self._base_color_texture(primitives)
        colors = None
        if any("COLOR_0" in p.attributes for p in primitives) or any(
            self._base_color_factor(p) != [1.0, 1.0, 1.0, 1.0] and texture is None for p in primitives
        ):
            colors = np.concatenate([self._vertex_colors(p) for p in primitives])
        normals = _concatenated(primitives, "NORMAL", 3)
        tangents = None if normals is None else _concatenated(primitives, "TANGENT", 4)
        if any(p.attributes.get(METAL_ROUGH_ATTRIBUTE, np.zeros((0, 2))).shape[1] != 2 for p in primitives):
            raise ValueError(f"attribute {METAL_ROUGH_ATTRIBUTE} must be VEC2 (metallic, roughness)")
        uvs = _concatenated(
            primitives, f"TEXCOORD_{texture.get('texCoord', 0)}" if texture else "TEXCOORD_0", 2
        )
        return Mesh(
            positions=np.concatenate([p.positions for p in primitives]).astype(np.float32),
            faces=faces.astype(np.uint32),
            normals=normals,
            uvs=uvs,
            colors=colors,
            texture_png=texture_png,
            name=name,
            quad_count=primitives[0].quads,  # the first primitive's faces come first
            tangents=tangents,
            normal_png=None if tangents is None else self._normal_texture(primitives, texture),
            metal_rough=_concatenated(primitives, METAL_ROUGH_ATTRIBUTE, 2),
            metal_rough_png=None if uvs is None else self._metal_rough_texture(primitives, texture),
        )

    def _material(self, primitive: _Primitive) -> dict[str, Any]:
        if primitive.material is None:
            return {}
        material: dict[str, Any] = self.gltf["materials"][primitive.material]
        return material

    def _base_color_factor(self, primitive: _Primitive) -> list[float]:
        pbr = self._material(primitive).get("pbrMetallicRoughness", {})
        return [float(v) for v in pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0])]

    def _vertex_colors(self, primitive: _Primitive) -> np.ndarray[Any, Any]:
        count = len(primitive.positions)
        colors = primitive.attributes.get("COLOR_0")
        if colors is None:
            colors = np.ones((count, 4))
        elif colors.shape[1] == 3:
            colors = np.concatenate([colors, np.ones((count, 1))], axis=1)
        return np.asarray(colors, np.float64) * self._base_color_factor(primitive)

    def _base_color_texture(self, primitives: list[_Primitive]) -> tuple[dict[str, Any] | None, bytes | None]:
        """The first base-colour texture any primitive uses, as PNG bytes."""
        for primitive in primitives:
            info = self._material(primitive).get("pbrMetallicRoughness", {}).get("baseColorTexture")
            if info is not None:
                png = self._texture_png(info)
                return (None, None) if png is None else (info, png)
        return None, None

    def _normal_texture(
        self, primitives: list[_Primitive], base_color: dict[str, Any] | None
    ) -> bytes | None:
        """The normal texture as PNG bytes (see _shared_texture). Read only with TANGENTs: a
        Mesh's normal map is always in the tangent space its tangents define."""
        info = self._shared_texture(
            primitives, base_color, self._material(primitives[0]).get("normalTexture")
        )
        return None if info is None else self._texture_png(info)

    def _metal_rough_texture(
        self, primitives: list[_Primitive], base_color: dict[str, Any] | None
    ) -> bytes | None:
        """The metallic-roughness texture as PNG bytes (see _shared_texture), its channels scaled
        by the material's factors where they are not 1 (a Mesh's texture holds the values)."""
        pbr = self._material(primitives[0]).get("pbrMetallicRoughness", {})
        info = self._shared_texture(primitives, base_color, pbr.get("metallicRoughnessTexture"))
        png = None if info is None else self._texture_png(info)
        if png is None:
            return None
        return scaled_metal_rough(
            png, float(pbr.get("metallicFactor", 1.0)), float(pbr.get("roughnessFactor", 1.0))
        )

    @staticmethod
    def _shared_texture(
        primitives: list[_Primitive], base_color: dict[str, Any] | None, info: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """`info` (a textureInfo of the first primitive's material) when every primitive shares
        that material and it uses the UV set Mesh.uvs holds; else None (a Mesh has one of each map)."""
        if any(p.material != primitives[0].material for p in primitives):
            return None
        if info is None or info.get("texCoord", 0) != (base_color or {}).get("texCoord", 0):
            return None
        return info

    def _texture_png(self, info: dict[str, Any]) -> bytes | None:
        """A textureInfo's embedded image as PNG bytes; None for an external file."""
        image = self.gltf["images"][self.gltf["textures"][info["index"]]["source"]]
        if "bufferView" in image:
            data = self.view_bytes(image["bufferView"])
        elif str(image.get("uri", "")).startswith("data:"):
            data = base64.b64decode(image["uri"].split(",", 1)[1])
        else:
            return None
        return as_png(data)

    def rig(self, skin: dict[str, Any]) -> _Rig:
        """The skin's skeleton (parents first) with what reading clips onto it needs."""
        joint_nodes: list[int] = [int(node) for node in skin["joints"]]
        if not joint_nodes or len(set(joint_nodes)) != len(joint_nodes):
            raise ValueError("skin joints are empty or repeated")
        slot_of = {node: slot for slot, node in enumerate(joint_nodes)}
        parent_slot = [self._joint_parent(node, slot_of) for node in joint_nodes]
        order = _parents_first(parent_slot)
        position = {slot: index for index, slot in enumerate(order)}
        if "inverseBindMatrices" in skin:
            inverse_binds = self.accessor(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
            binds = np.linalg.inv(inverse_binds[order].astype(np.float64))
        else:
            binds = np.array([self.world.get(joint_nodes[slot], np.eye(4)) for slot in order])
        heads = binds[:, :3, 3]
        parents = np.array([position[parent_slot[s]] if parent_slot[s] >= 0 else -1 for s in order], np.int32)
        names = _unique_names([str(self.nodes[joint_nodes[s]].get("name") or f"joint{s}") for s in order])
        tails = _tails(
            heads, parents, [self.nodes[joint_nodes[s]].get("extras", {}).get(EXTRA_TAIL) for s in order]
        )
        nodes = [joint_nodes[slot] for slot in order]
        rest = self._kept_rest_rotations(nodes, parents, binds) if self.keep_rest else None
        skeleton = Skeleton(
            names=names,
            parents=parents,
            heads=heads.astype(np.float32),
            tails=tails.astype(np.float32),
            rest_rotations=None if rest is None or _is_identity(rest) else rest.astype(np.float32),
        )
        return _Rig(
            skeleton=skeleton,
            joint_nodes=nodes,
            joint_of_slot=np.array([position[slot] for slot in range(len(joint_nodes))], np.int64),
            bind_rotations=matrix_quaternions(binds[:, :3, :3]),
            keeps_rest=rest is not None,
        )

    def _kept_rest_rotations(
        self, nodes: list[int], parents: np.ndarray[Any, Any], binds: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any] | None:
        """The joints' node rotations, when the nodes' rest pose is the bind pose and each joint's
        node rotation is its rotation relative to its parent joint (no nodes in between); else None."""
        if not all(
            np.allclose(self.world.get(node, np.eye(4)), bind, atol=1e-4)
            for node, bind in zip(nodes, binds, strict=True)
        ):
            return None
        rest = np.array(
            [self.nodes[node].get("rotation", [0.0, 0.0, 0.0, 1.0]) for node in nodes], np.float64
        )
        parent_binds = np.array([binds[p, :3, :3] if p >= 0 else np.eye(3) for p in parents])
        relative = matrix_quaternions(np.swapaxes(parent_binds, -1, -2) @ binds[:, :3, :3])
        if not np.allclose(np.abs(np.sum(relative * rest, axis=-1)), 1.0, atol=1e-5):
            return None
        return rest

    def _joint_parent(self, node: int, slot_of: dict[int, int]) -> int:
        """The skin slot of the nearest ancestor that is a joint, -1 if none."""
        parent = self.parents[node]
        while parent >= 0:
            if parent in slot_of:
                return slot_of[parent]
            parent = self.parents[parent]
        return -1

    def clip(self, animation: dict[str, Any], rig: _Rig) -> Clip | None:
        """The animation's joint rotations and root translation, resampled to whole frames."""
        skeleton, joint_nodes = rig.skeleton, rig.joint_nodes
        joint_of = {node: joint for joint, node in enumerate(joint_nodes)}
        root = int(np.flatnonzero(skeleton.parents < 0)[0])
        tracks: dict[tuple[int, str], tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str]] = {}
        for channel in animation.get("channels", []):
            target = channel.get("target", {})
            joint = joint_of.get(target.get("node", -1))
            path = target.get("path")
            if (
                joint is None
                or path not in ("rotation", "translation")
                or (path == "translation" and joint != root)
            ):
                continue
            sampler = animation["samplers"][channel["sampler"]]
            times = self.accessor(sampler["input"]).reshape(-1).astype(np.float64)
            values = self.accessor(sampler["output"]).astype(np.float64)
            tracks[(joint, path)] = (times, values, sampler.get("interpolation", "LINEAR"))
        if not tracks:
            return None
        extras = animation.get("extras", {})
        first_times = next(iter(tracks.values()))[0]
        fps = float(extras.get(EXTRA_FPS) or _estimate_fps(first_times))
        end = max(float(times[-1]) for times, _, _ in tracks.values() if len(times))
        frame_count = round(end * fps) + 1
        if not 0 < frame_count <= MAX_FRAMES:
            raise ValueError(f"animation {animation.get('name')!r} would have {frame_count} frames")
        frames = (np.arange(frame_count, dtype=np.float64) / fps).astype(np.float32)
        rest = np.array(
            [self.nodes[node].get("rotation", [0.0, 0.0, 0.0, 1.0]) for node in joint_nodes], np.float64
        )
        rotations = np.zeros((len(frames), skeleton.joint_count, 4), np.float32)
        for joint in range(skeleton.joint_count):
            track = tracks.get((joint, "rotation"))
            rotations[:, joint] = (
                rest[joint] if track is None else resample_channel(*track, frames, rotation=True)
            )
        rest_translation = np.asarray(self.nodes[joint_nodes[root]].get("translation", [0.0, 0.0, 0.0]))
        track = tracks.get((root, "translation"))
        if track is None:
            root_translations = np.zeros((len(frames), 3), np.float32)
        else:
            root_translations = resample_channel(*track, frames, rotation=False) - rest_translation.astype(
                np.float32
            )
        parent_frames = quaternion_multiply(rig.bind_rotations, quaternion_inverse(rest))
        if not rig.keeps_rest and not (_is_identity(rest) and _is_identity(parent_frames)):
            rotations = identity_rest_rotations(rotations, rest, parent_frames)
            root_translations = _rotated(root_translations, parent_frames[root])
        loop = extras.get(EXTRA_LOOP)
        if loop is None:
            loop = bool(np.allclose(rotations[0], rotations[-1], atol=1e-4))
        name = str(animation.get("name") or "clip")
        return Clip(
            name=name, fps=fps, rotations=rotations, root_translations=root_translations, loop=bool(loop)
        )


@dataclass
class _Rig:
    skeleton: Skeleton
    joint_nodes: list[int]  # glTF node of each skeleton joint
    joint_of_slot: np.ndarray[Any, Any]  # skeleton joint of each skin slot
    bind_rotations: np.ndarray[Any, Any]  # (J, 4) world rotation of each joint in the bind pose
    keeps_rest: bool = False  # the skeleton keeps the file's rest rotations; clips stay as they are


def _is_identity(quaternions: np.ndarray[Any, Any]) -> bool:
    return bool(np.allclose(np.abs(quaternions[:, 3]), 1.0, rtol=0.0, atol=1e-7))


def _rotated(vectors: np.ndarray[Any, Any], quaternion: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    pure = np.concatenate([vectors, np.zeros((len(vectors), 1))], axis=1)
    turned = quaternion_multiply(
        quaternion_multiply(quaternion[None], pure), quaternion_inverse(quaternion)[None]
    )
    return np.asarray(turned[:, :3], np.float32)


def merged_skin(primitives: list[_Primitive], joint_of_slot: np.ndarray[Any, Any]) -> Skin:
    """JOINTS_0/WEIGHTS_0 of every primitive, skin slots mapped to skeleton joints.

    Primitives without weights bind to the first joint; rows are renormalized.
    """
    joints = []
    weights = []
    for primitive in primitives:
        count = len(primitive.positions)
        if "JOINTS_0" in primitive.attributes and "WEIGHTS_0" in primitive.attributes:
            joints.append(np.asarray(primitive.attributes["JOINTS_0"], np.int64))
            weights.append(np.asarray(primitive.attributes["WEIGHTS_0"], np.float64))
        else:
            joints.append(np.zeros((count, 4), np.int64))
            weights.append(np.tile([1.0, 0.0, 0.0, 0.0], (count, 1)))
    joint_array = np.concatenate(joints) if joints else np.zeros((0, 4), np.int64)
    weight_array = np.concatenate(weights) if weights else np.zeros((0, 4))
    if joint_array.size and (joint_array.min() < 0 or joint_array.max() >= len(joint_of_slot)):
        raise ValueError("JOINTS_0 refers to a joint the skin does not have")
    joint_array = joint_of_slot[joint_array]
    totals = weight_array.sum(axis=1, keepdims=True)
    off = np.abs(totals[:, 0] - 1.0) > 1e-6  # leave normalized rows bit-exact
    weight_array[off] = np.divide(
        weight_array[off],
        totals[off],
        out=np.tile([1.0, 0.0, 0.0, 0.0], (int(off.sum()), 1)),
        where=totals[off] > 0,
    )
    return Skin(joints=joint_array.astype(np.uint16), weights=weight_array.astype(np.float32))


def normalize_components(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Normalized integer components as floats (glTF's conversion rules)."""
    if values.dtype.kind == "f":
        return values
    info = np.iinfo(values.dtype)
    scaled = values.astype(np.float64) / info.max
    return np.maximum(scaled, -1.0) if info.min < 0 else scaled


def local_matrix(node: dict[str, Any]) -> np.ndarray[Any, Any]:
    if "matrix" in node:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T
    matrix = np.eye(4)
    x, y, z, w = (float(v) for v in node.get("rotation", (0.0, 0.0, 0.0, 1.0)))
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    matrix[:3, :3] = rotation * np.asarray(node.get("scale", (1.0, 1.0, 1.0)), np.float64)
    matrix[:3, 3] = np.asarray(node.get("translation", (0.0, 0.0, 0.0)), np.float64)
    return matrix


def as_png(data: bytes) -> bytes:
    """Embedded image bytes as PNG (JPEG and others are re-encoded)."""
    if data.startswith(PNG_SIGNATURE):
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.convert("RGBA").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        raise StepError(
            ErrorCode.INVALID_INPUT, f"mesh GLB: embedded texture is not an image ({exc})"
        ) from None


def scaled_metal_rough(png: bytes, metallic: float, roughness: float) -> bytes:
    """A metallicRoughness PNG with its B (metallic) and G (roughness) channels multiplied by the
    material's factors, as glTF shades it; the bytes unchanged when both factors are 1."""
    if metallic == 1.0 and roughness == 1.0:
        return png
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGB"), np.float64)
    pixels[..., 1] *= min(max(roughness, 0.0), 1.0)
    pixels[..., 2] *= min(max(metallic, 0.0), 1.0)
    out = io.BytesIO()
    Image.fromarray(np.round(pixels).astype(np.uint8), mode="RGB").save(out, format="PNG")
    return out.getvalue()


def _concatenated(primitives: list[_Primitive], name: str, width: int) -> np.ndarray[Any, Any] | None:
    """One attribute across primitives; None unless every primitive has it."""
    if not all(name in p.attributes for p in primitives):
        return None
    columns = [np.asarray(p.attributes[name], np.float64)[:, :width] for p in primitives]
    return np.asarray(np.concatenate(columns), np.float32)


def _parents_first(parent_slot: list[int]) -> list[int]:
    """Skin slots reordered so that every parent precedes its children (kept as is when it does)."""
    if all(parent < slot for slot, parent in enumerate(parent_slot)):
        return list(range(len(parent_slot)))
    children: dict[int, list[int]] = {}
    for slot, parent in enumerate(parent_slot):
        children.setdefault(parent, []).append(slot)
    order: list[int] = []
    pending = list(reversed(children.get(-1, [])))
    while pending:
        slot = pending.pop()
        order.append(slot)
        pending.extend(reversed(children.get(slot, [])))
    return order


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique.append(name if count == 0 else f"{name}.{count:03d}")
    return unique


def _tails(
    heads: np.ndarray[Any, Any], parents: np.ndarray[Any, Any], stored: list[Any]
) -> np.ndarray[Any, Any]:
    """Stored tails where present; else the mean of the children's heads, or the parent's direction."""
    tails = heads.copy()
    for joint in range(len(heads)):
        if stored[joint] is not None:
            tails[joint] = np.asarray(stored[joint], np.float64)
            continue
        children = np.flatnonzero(parents == joint)
        if len(children):
            tails[joint] = heads[children].mean(axis=0)
        elif parents[joint] >= 0:
            tails[joint] = heads[joint] + 0.5 * (heads[joint] - heads[parents[joint]])
        if np.allclose(tails[joint], heads[joint]):
            tails[joint] = heads[joint] + (0.0, 0.1, 0.0)
    return tails


def _estimate_fps(times: np.ndarray[Any, Any]) -> float:
    if len(times) < 2 or times[-1] <= times[0]:
        return DEFAULT_FPS
    return float(max(1, round((len(times) - 1) / (times[-1] - times[0]))))
