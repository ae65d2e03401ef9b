"""Tangent-space normal maps: the high-resolution input's shading baked onto a low-poly mesh.

Tangents are per vertex, from UV derivatives (Lengyel's construction, which MikkTSpace refines):
each triangle's dP/du and dP/dv, summed per vertex weighted by the corner angle, the tangent made
orthogonal to the vertex normal, w the handedness. It is not MikkTSpace itself: no maintained
Python binding installs here (pymikktspace 0.3.0's sdist does not build under Cython 3). The
GLB carries these tangents, and glTF viewers and engines use a file's TANGENT attribute rather
than generating their own, so the bake and the shader share this exact frame. UV seams are
already split into separate vertices by the unwrap, so every vertex has one tangent frame.

The bake: each covered texel's point on the low-poly surface takes the input's interpolated
normal at its closest point on the input -- the same closest-point query the colour bake makes
(closest point rather than a ray cast: the low-poly surface is a simplification of the input,
so the closest point is the surface it stands for, and the query then costs nothing extra).
That normal is written in the texel's frame -- tangent, bitangent and normal interpolated from
the vertices as a glTF shader does, then inverted, so that the shader's
normalize(x T + y B + z N) gives it back -- as rgb = 0.5 + 0.5 xyz.
glTF's convention: +X along +u, +Y towards the texture's top (decreasing glTF v), +Z outwards.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh

DEGENERATE = 1e-12
FloatT = TypeVar("FloatT", np.float32, np.float64)


class NormalSource:
    """The input mesh's unit normals (its own, else area-weighted smooth ones) at its surface points."""

    def __init__(self, mesh: Mesh) -> None:
        self._faces = np.asarray(mesh.faces, np.int64)
        normals = (
            mesh.normals if mesh.normals is not None else meshops.vertex_normals(mesh.positions, self._faces)
        )
        self._normals = np.asarray(normals, np.float64)

    def normals_at(self, hits: meshops.SurfaceHits) -> npt.NDArray[np.float64]:
        """Unit (N, 3): the interpolated normal at surface points of this mesh (e.g. the closest
        points ColourSource.closest found: one query serves both bakes)."""
        return _unit(np.einsum("ij,ijk->ik", hits.barycentric, self._normals[self._faces[hits.faces]]))


def vertex_tangents(
    positions: npt.NDArray[np.float64],
    normals: npt.NDArray[np.float32],
    faces: npt.NDArray[np.int64],
    uvs: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """(V, 4): unit tangents along +u, orthogonal to the normals, w = +-1 such that
    w * cross(normal, tangent) points towards decreasing glTF v (the texture's top)."""
    corners = positions[faces]
    # v measured upwards (OpenGL's and MikkTSpace's convention) so that the bitangent is dP/dv
    texture = np.column_stack([uvs[:, 0], -uvs[:, 1]]).astype(np.float64)[faces]
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    duv_a, duv_b = texture[:, 1] - texture[:, 0], texture[:, 2] - texture[:, 0]
    det = duv_a[:, 0] * duv_b[:, 1] - duv_b[:, 0] * duv_a[:, 1]
    valid = np.abs(det) > DEGENERATE
    inverse = np.where(valid, 1.0 / np.where(valid, det, 1.0), 0.0)[:, None]
    face_tangents = _unit((edge_a * duv_b[:, 1:] - edge_b * duv_a[:, 1:]) * inverse)
    face_bitangents = _unit((edge_b * duv_a[:, :1] - edge_a * duv_b[:, :1]) * inverse)
    weights = _corner_angles(corners)
    count = len(positions)
    tangent_sum, bitangent_sum = np.zeros((count, 3)), np.zeros((count, 3))
    for corner in range(3):
        for axis in range(3):
            tangent_sum[:, axis] += np.bincount(
                faces[:, corner], weights[:, corner] * face_tangents[:, axis], minlength=count
            )
            bitangent_sum[:, axis] += np.bincount(
                faces[:, corner], weights[:, corner] * face_bitangents[:, axis], minlength=count
            )
    normal = _unit(np.asarray(normals, np.float64))
    tangent = tangent_sum - normal * np.einsum("ij,ij->i", normal, tangent_sum)[:, None]
    lost = np.linalg.norm(tangent, axis=1) <= DEGENERATE
    tangent[lost] = _any_perpendicular(normal[lost])
    tangent = _unit(tangent)
    handedness = np.where(np.einsum("ij,ij->i", np.cross(normal, tangent), bitangent_sum) < 0.0, -1.0, 1.0)
    return np.column_stack([tangent, handedness]).astype(np.float32)


def encode_normals(
    normals: npt.NDArray[np.float32],
    tangents: npt.NDArray[np.float32],
    corners: npt.NDArray[np.int64],
    barycentric: npt.NDArray[np.float64],
    target: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Normal-map rgb (N, 3) in 0..1 that shades points (triangle `corners`, `barycentric`) with
    the unit `target` normals, in the frame interpolated from the vertex normals and tangents."""
    vertex_normals = np.asarray(normals, np.float32)
    vertex_tangents = np.asarray(tangents[:, :3], np.float32)
    vertex_bitangents = np.cross(vertex_normals, vertex_tangents) * tangents[:, 3:]
    frames = np.concatenate([vertex_tangents, vertex_bitangents, vertex_normals], axis=1)  # (V, 9)
    weights = barycentric.astype(np.float32)
    mixed = (
        weights[:, :1] * frames[corners[:, 0]]
        + weights[:, 1:2] * frames[corners[:, 1]]
        + weights[:, 2:] * frames[corners[:, 2]]
    )
    tangent, bitangent, normal = (_unit(mixed[:, k : k + 3]) for k in (0, 3, 6))
    # the inverse of the matrix with columns (tangent, bitangent, normal): rows of cross products / det
    rows = (np.cross(bitangent, normal), np.cross(normal, tangent), np.cross(tangent, bitangent))
    det = np.einsum("ij,ij->i", tangent, rows[0])
    local = np.column_stack([np.einsum("ij,ij->i", row, target) for row in rows]) * np.sign(det)[:, None]
    local[np.abs(det) <= 1e-6] = (0.0, 0.0, 1.0)
    return np.clip(_unit(local) * 0.5 + 0.5, 0.0, 1.0).astype(np.float64)


def _corner_angles(corners: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(F, 3) the angle at each corner of each triangle."""
    following = _unit(np.roll(corners, -1, axis=1) - corners)
    preceding = _unit(np.roll(corners, 1, axis=1) - corners)
    cosines: npt.NDArray[np.float64] = np.einsum("ijk,ijk->ij", following, preceding)
    return np.arccos(np.clip(cosines, -1.0, 1.0))


def _any_perpendicular(normals: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A vector perpendicular to each normal: its cross product with the least aligned axis."""
    axes = np.eye(3)[np.argmin(np.abs(normals), axis=1)]
    return np.cross(normals, axes)


def _unit(vectors: npt.NDArray[FloatT]) -> npt.NDArray[FloatT]:
    lengths = np.sqrt(np.einsum("...i,...i->...", vectors, vectors))[..., None]
    return np.divide(vectors, lengths, out=np.zeros_like(vectors), where=lengths > DEGENERATE)
