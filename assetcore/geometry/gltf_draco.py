"""KHR_draco_mesh_compression for one triangle primitive, through DracoPy.

Positions are quantized to 14 bits, normals to 10, UVs to 12; colours travel as 8-bit
normalized values, joints, weights, tangents and per-vertex metallic-roughness as lossless
generic attributes (tangents must stay unit length with w = +-1, which quantizing would break).
The encoded buffer is decoded once right away: the accessors must describe what a decoder will
produce (Draco may reorder and merge points), and the attribute ids Draco assigned are read
back from it.
"""

from __future__ import annotations

from typing import Any

import DracoPy
import numpy as np

from assetcore.geometry.gltf_binary import BinaryBuilder
from assetcore.geometry.gltf_constants import DRACO, METAL_ROUGH_ATTRIBUTE

POSITION_BITS = 14
NORMAL_BITS = 10
UV_BITS = 12
COMPRESSION_LEVEL = 7

# Draco's attribute types (draco::GeometryAttribute::Type) for the standard glTF attributes
_DRACO_TYPES = {"POSITION": 0, "NORMAL": 1, "COLOR_0": 2, "TEXCOORD_0": 3}
# unique ids we give the generic attributes
_GENERIC_IDS = {"JOINTS_0": 100, "WEIGHTS_0": 101, "TANGENT": 102, METAL_ROUGH_ATTRIBUTE: 103}


def add_draco_primitive(
    builder: BinaryBuilder, attributes: dict[str, np.ndarray[Any, Any]], faces: np.ndarray[Any, Any]
) -> dict[str, Any]:
    """Encode the attributes and faces into one buffer view; return the primitive's JSON."""
    colors = attributes.get("COLOR_0")
    encoded = DracoPy.encode(
        attributes["POSITION"],
        faces,
        quantization_bits=POSITION_BITS,
        compression_level=COMPRESSION_LEVEL,
        normals=_as_float64(attributes.get("NORMAL")),
        normal_quantization_bits=NORMAL_BITS,
        tex_coord=_as_float64(attributes.get("TEXCOORD_0")),
        tex_coord_quantization_bits=UV_BITS,
        colors=None if colors is None else np.round(np.clip(colors, 0, 1) * 255).astype(np.uint8),
        generic_attributes={
            _GENERIC_IDS[name]: attributes[name] for name in _GENERIC_IDS if name in attributes
        }
        or None,
    )
    decoded = DracoPy.decode(encoded)
    ids = _unique_ids(decoded)
    accessors: dict[str, int] = {}
    for name in attributes:
        values = decoded.get_attribute_by_unique_id(ids[name])["data"]
        accessor = builder.describe(
            _gltf_dtype(name, values), normalized=name == "COLOR_0", bounds=name == "POSITION"
        )
        accessors[name] = builder.add_described(accessor)
    index_dtype = np.uint16 if len(decoded.points) < 0xFFFF else np.uint32
    indices = builder.add_described(builder.describe(np.asarray(decoded.faces, index_dtype).reshape(-1)))
    view = builder.add_view(bytes(encoded))
    return {
        "attributes": accessors,
        "indices": indices,
        "extensions": {DRACO: {"bufferView": view, "attributes": {name: ids[name] for name in attributes}}},
    }


def decode_draco_primitive(
    encoded: bytes, attribute_ids: dict[str, int]
) -> tuple[dict[str, np.ndarray[Any, Any]], np.ndarray[Any, Any]]:
    """The named attributes (as decoded, before normalization) and the (F, 3) faces."""
    try:
        decoded = DracoPy.decode(encoded)
    except DracoPy.FileTypeException as exc:
        raise ValueError(f"Draco buffer does not decode: {exc}") from None
    attributes = {}
    for name, unique_id in attribute_ids.items():
        attribute = decoded.get_attribute_by_unique_id(int(unique_id))
        if attribute is None:
            raise ValueError(f"Draco buffer has no attribute {unique_id} for {name}")
        attributes[name] = np.asarray(attribute["data"])
    return attributes, np.asarray(decoded.faces, np.uint32).reshape(-1, 3)


def _unique_ids(decoded: Any) -> dict[str, int]:
    ids = dict(_GENERIC_IDS)
    for attribute in decoded.attributes:
        for name, draco_type in _DRACO_TYPES.items():
            if attribute["attribute_type"] == draco_type:
                ids[name] = int(attribute["unique_id"])
    return ids


def _gltf_dtype(name: str, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Decoded values in the component type the accessor declares."""
    if name == "COLOR_0":
        return np.asarray(values, np.uint8)
    if name == "JOINTS_0":
        return np.asarray(values, np.uint16)
    return np.asarray(values, np.float32)


def _as_float64(values: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any] | None:
    """DracoPy wants float64 normals and UVs."""
    return None if values is None else np.asarray(values, np.float64)
