"""GLB I/O: the only way mesh files travel between steps.

`write_glb` lays a `Model` out as one binary glTF 2.0 file:
- one mesh node at the scene root (no transform) with one triangle primitive: POSITION,
  NORMAL, TANGENT (only with NORMAL, as glTF ignores it otherwise), TEXCOORD_0, COLOR_0
  (float RGBA, linear), JOINTS_0/WEIGHTS_0 when skinned, and _METALLIC_ROUGHNESS (Mesh.metal_rough,
  an application attribute engines ignore: raw meshes carry their materials to retopo in it);
- a PBR material, with the embedded PNGs as baseColorTexture, normalTexture and
  metallicRoughnessTexture when there are any (factors 1 with that texture, else metallic 0 and
  roughness 0.8);
- the skeleton as joint nodes (rest translation = head offset from the parent's head, no
  rotation unless Skeleton.rest_rotations gives them one: assetcore.geometry.posing) plus a skin
  whose inverse bind matrices undo the rest frames;
- one animation per clip: a LINEAR rotation channel per joint and a translation channel for
  the root, sampled at frame / fps.
Bone tails, clip fps, the loop flag and the mesh's quad count (primitive extras `quads`,
left out under Draco, which reorders triangles) ride along in `extras` so that `read_glb`
returns exactly what was written; GLBs without it read as quad_count 0. With `draco=True`
the primitive is KHR_draco_mesh_compression encoded (joints and weights included), and the
extension is required.

`read_glb` also reads GLBs from other tools: it merges every triangle primitive of the
default scene into one Mesh (node transforms applied), takes the first skin, and resamples
animations onto a fixed frame rate. Malformed bytes raise StepError(INVALID_INPUT).
"""

from __future__ import annotations

import json
import struct

from assetcore.geometry.gltf_reader import parse_document
from assetcore.geometry.gltf_writer import build_document
from assetcore.geometry.model import Model
from assetcore.worker.backend import ErrorCode, StepError

GLB_MAGIC = b"glTF"
GLB_VERSION = 2
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
_HEADER = struct.Struct("<4sII")
_CHUNK_HEADER = struct.Struct("<II")


def write_glb(model: Model, *, draco: bool = False) -> bytes:
    """The model as GLB bytes; deterministic for the same model."""
    document, binary = build_document(model, draco=draco)
    return pack_glb(document, binary)


def read_glb(data: bytes, *, rest_rotations: bool = False) -> Model:
    """Parse GLB bytes into a Model. Raises StepError(INVALID_INPUT) on anything malformed.

    Joints come back with identity rest rotations (clips re-expressed) unless `rest_rotations`
    keeps a file's own (Skeleton.rest_rotations; the export step's oriented joints)."""
    document, binary = unpack_glb(data)
    return parse_document(document, binary, rest_rotations=rest_rotations)


def pack_glb(document: dict[str, object], binary: bytes) -> bytes:
    """The GLB container: header, JSON chunk padded with spaces, BIN chunk padded with zeros."""
    json_bytes = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    json_bytes += b" " * (-len(json_bytes) % 4)
    chunks = [_CHUNK_HEADER.pack(len(json_bytes), CHUNK_JSON), json_bytes]
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        chunks += [_CHUNK_HEADER.pack(len(binary), CHUNK_BIN), binary]
    body = b"".join(chunks)
    return _HEADER.pack(GLB_MAGIC, GLB_VERSION, _HEADER.size + len(body)) + body


def unpack_glb(data: bytes) -> tuple[dict[str, object], bytes | None]:
    """The JSON document and the BIN chunk (None if absent) of GLB bytes."""
    if len(data) < _HEADER.size + _CHUNK_HEADER.size:
        raise _invalid(f"{len(data)} bytes is too short for a GLB")
    magic, version, length = _HEADER.unpack_from(data)
    if magic != GLB_MAGIC:
        raise _invalid("bad magic (not a binary glTF file)")
    if version != GLB_VERSION:
        raise _invalid(f"GLB version {version} (only 2 is supported)")
    if length > len(data):
        raise _invalid(f"header says {length} bytes but the file has {len(data)}")
    chunks: dict[int, bytes] = {}
    offset = _HEADER.size
    while offset + _CHUNK_HEADER.size <= length:
        size, kind = _CHUNK_HEADER.unpack_from(data, offset)
        start = offset + _CHUNK_HEADER.size
        if start + size > length:
            raise _invalid(f"chunk at byte {offset} runs past the end of the file")
        chunks.setdefault(kind, data[start : start + size])
        offset = start + size
    if CHUNK_JSON not in chunks:
        raise _invalid("no JSON chunk")
    try:
        document = json.loads(chunks[CHUNK_JSON])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"JSON chunk does not parse: {exc}") from None
    if not isinstance(document, dict):
        raise _invalid("JSON chunk is not an object")
    return document, chunks.get(CHUNK_BIN)


def _invalid(message: str) -> StepError:
    return StepError(ErrorCode.INVALID_INPUT, f"mesh GLB: {message}")
