"""glTF 2.0 enumerations shared by the GLB writer and reader."""

from __future__ import annotations

import numpy as np

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
TRIANGLES = 4

# componentType -> numpy dtype (little-endian, as glTF stores them)
COMPONENT_DTYPES: dict[int, np.dtype[np.generic]] = {
    5120: np.dtype("<i1"),
    5121: np.dtype("<u1"),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
COMPONENT_TYPES: dict[np.dtype[np.generic], int] = {dtype: code for code, dtype in COMPONENT_DTYPES.items()}
TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
TYPE_NAMES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}

LINEAR = 9729
LINEAR_MIPMAP_LINEAR = 9987

DRACO = "KHR_draco_mesh_compression"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# extras keys that make read_glb return exactly what write_glb was given
EXTRA_TAIL = "tail"  # joint node: the bone's tail in model space
EXTRA_FPS = "fps"  # animation: the clip's frame rate
EXTRA_LOOP = "loop"  # animation: whether the clip loops
EXTRA_QUADS = "quads"  # primitive: Mesh.quad_count (triangles 2i and 2i + 1 are quad i)

# Mesh.metal_rough between steps: an application-specific vertex attribute (glTF allows names
# starting with "_"), VEC2 float (metallic, roughness); engines ignore it, retopo bakes it to a texture
METAL_ROUGH_ATTRIBUTE = "_METALLIC_ROUGHNESS"
