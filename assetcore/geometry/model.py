"""The in-memory asset model the geometry steps share (GLB is the format on the wire).

Conventions (glTF's): metres, +Y up, the subject faces +Z, counter-clockwise front faces.
Characters stand on y = 0. Skeleton rest poses have identity joint rotations (a joint's rest
transform is the translation from its parent's head to its own head) everywhere but in the export
step's output: its oriented-joints option gives joints rest rotations (Skeleton.rest_rotations),
and clips then hold local rotations relative to the parent's frame (assetcore.geometry.posing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]
U16 = npt.NDArray[np.uint16]


@dataclass
class Mesh:
    positions: F32  # (V, 3)
    faces: U32  # (F, 3), counter-clockwise
    normals: F32 | None = None  # (V, 3), unit length
    uvs: F32 | None = None  # (V, 2), glTF convention: (0, 0) is the texture's top-left
    colors: F32 | None = None  # (V, 4), linear RGBA in 0..1
    texture_png: bytes | None = None  # base-colour texture (sRGB PNG) sampled with uvs
    name: str = "mesh"
    # Quads split in two: faces 2i and 2i + 1 (i < quad_count) are quad i cut along its diagonal,
    # so that polygon formats (FBX) can join them again; glTF itself holds triangles only.
    quad_count: int = 0
    # (V, 4) unit tangents along +u with w = +-1 the handedness: bitangent = w * cross(normal, tangent)
    # points towards the texture's top (glTF). They define the normal map's tangent space.
    tangents: F32 | None = None
    normal_png: bytes | None = None  # tangent-space normal texture (PNG, linear) sampled with uvs
    # (V, 2) metallic and roughness per vertex in 0..1: image3d's raw meshes carry the materials
    # the concept's parts are made of; retopo bakes them into metal_rough_png on the new UVs.
    metal_rough: F32 | None = None
    metal_rough_png: bytes | None = None  # glTF metallicRoughness texture (linear; G roughness, B metallic)

    @property
    def face_count(self) -> int:
        return int(self.faces.shape[0])

    @property
    def vertex_count(self) -> int:
        return int(self.positions.shape[0])


@dataclass
class Skeleton:
    names: list[str]  # unique joint names; humanoids use the Mixamo-style convention (Hips, Spine, ...)
    parents: I32  # (J,), -1 for the root; a parent always precedes its children
    heads: F32  # (J, 3) rest-pose joint positions in model space
    tails: F32  # (J, 3) where each bone points to (for Blender bones and previews)
    # (J, 4) local rest rotations (x, y, z, w); None: all identity. Only the export step sets them
    # (services.export's oriented_joints); read_glb keeps them only when asked to.
    rest_rotations: F32 | None = None

    @property
    def joint_count(self) -> int:
        return len(self.names)


@dataclass
class Skin:
    joints: U16  # (V, 4) joint indices
    weights: F32  # (V, 4) each row sums to 1; unused slots weigh 0


@dataclass
class Clip:
    name: str
    fps: float
    rotations: F32  # (T, J, 4) local joint rotations as unit quaternions (x, y, z, w)
    root_translations: F32  # (T, 3) the root joint's offset from its rest position
    loop: bool = True  # last frame equals the first

    @property
    def frame_count(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def duration(self) -> float:
        return (self.frame_count - 1) / self.fps


@dataclass
class Model:
    mesh: Mesh
    skeleton: Skeleton | None = None
    skin: Skin | None = None
    clips: list[Clip] = field(default_factory=list)
