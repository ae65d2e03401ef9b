"""Solid voxelization of a closed mesh by ray parity along +Z.

Every triangle is rasterised onto an XY pixel grid; the sorted z hits of each pixel's ray pair
up into inside intervals. The grid is shifted by a tiny irrational fraction of a voxel so that
pixel centres never land exactly on shared edges, where parity would double count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Mesh

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_JITTER = np.array([0.1234567, 0.2718281, 0.0])  # in voxels: keeps ray origins off mesh edges


@dataclass(frozen=True)
class VoxelGrid:
    """Occupancy of the mesh's inside; voxel (i, j, k) is centred at origin + pitch * (i, j, k)."""

    occupied: Bools  # (nx, ny, nz)
    origin: Floats  # (3,)
    pitch: float

    @property
    def shape(self) -> tuple[int, int, int]:
        nx, ny, nz = self.occupied.shape
        return nx, ny, nz

    def centres(self, indices: Ints) -> Floats:
        """Model-space centres of voxel indices (..., 3)."""
        return self.origin + self.pitch * np.asarray(indices, dtype=np.float64)

    def indices(self, points: Floats) -> Ints:
        """Nearest voxel indices of model-space points (..., 3), clipped into the grid."""
        ijk = np.rint((np.asarray(points, dtype=np.float64) - self.origin) / self.pitch).astype(np.int64)
        clipped: Ints = np.clip(ijk, 0, np.array(self.shape) - 1)
        return clipped

    def contains(self, points: Floats) -> Bools:
        """Whether each point lies in an occupied voxel (points outside the grid: False)."""
        ijk = np.rint((np.asarray(points, dtype=np.float64) - self.origin) / self.pitch).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < np.array(self.shape)), axis=-1)
        result = np.zeros(ijk.shape[:-1], dtype=bool)
        hits = ijk[inside]
        result[inside] = self.occupied[hits[:, 0], hits[:, 1], hits[:, 2]]
        return result


def voxelize(mesh: Mesh, resolution: int = 128) -> VoxelGrid:
    """The solid inside of a closed mesh, with `resolution` voxels along its longest side."""
    positions = mesh.positions.astype(np.float64)
    low, high = positions.min(axis=0), positions.max(axis=0)
    pitch = float(max(np.max(high - low), 1e-9) / resolution)
    origin = low - pitch + _JITTER * pitch
    shape = np.ceil((high - origin) / pitch).astype(np.int64) + 2
    occupied = np.zeros(tuple(shape), dtype=bool)
    pixels, z = _ray_hits(positions, mesh.faces.astype(np.int64), origin, pitch, shape)
    _fill_intervals(occupied, pixels, (z - origin[2]) / pitch)
    return VoxelGrid(occupied=occupied, origin=origin, pitch=pitch)


def _ray_hits(
    positions: Floats, faces: Ints, origin: Floats, pitch: float, shape: Ints
) -> tuple[Ints, Floats]:
    """Linear pixel index and z of every crossing of a +Z ray (through a pixel centre) and a triangle."""
    corners = (positions[faces] - origin) / pitch  # (F, 3, 3) in voxel units
    xy = corners[:, :, :2]
    lo = np.clip(np.ceil(xy.min(axis=1)), 0, shape[:2] - 1).astype(np.int64)
    hi = np.clip(np.floor(xy.max(axis=1)), -1, shape[:2] - 1).astype(np.int64)
    extent = np.maximum(hi - lo + 1, 0)
    counts = extent[:, 0] * extent[:, 1]
    tri = np.repeat(np.arange(len(faces)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    width = extent[tri, 0]
    px = lo[tri, 0] + offset % np.maximum(width, 1)
    py = lo[tri, 1] + offset // np.maximum(width, 1)
    a, b, c = xy[tri, 0], xy[tri, 1], xy[tri, 2]
    p = np.stack([px, py], axis=1).astype(np.float64)
    area = _cross(b - a, c - a)
    w0, w1, w2 = _cross(c - b, p - b), _cross(a - c, p - c), _cross(b - a, p - a)
    sign = np.sign(area)
    inside = (area != 0) & (w0 * sign >= 0) & (w1 * sign >= 0) & (w2 * sign >= 0)
    safe = np.where(area == 0, 1.0, area)
    zs = corners[tri, :, 2]
    z = (w0 * zs[:, 0] + w1 * zs[:, 1] + w2 * zs[:, 2]) / safe
    return (px * shape[1] + py)[inside], z[inside] * pitch + origin[2]


def _cross(u: Floats, v: Floats) -> Floats:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def _fill_intervals(occupied: Bools, pixels: Ints, z: Floats) -> None:
    """Mark voxels between consecutive (entry, exit) hits of each pixel's ray."""
    if len(pixels) == 0:
        return
    order = np.lexsort((z, pixels))
    pixels, z = pixels[order], z[order]
    starts = np.flatnonzero(np.r_[True, pixels[1:] != pixels[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(pixels)]))
    rank = np.arange(len(pixels)) - group_start
    entry = np.flatnonzero(rank % 2 == 0)
    entry = entry[
        (entry + 1 < len(pixels)) & (pixels[np.minimum(entry + 1, len(pixels) - 1)] == pixels[entry])
    ]
    nz = occupied.shape[2]
    k0 = np.clip(np.ceil(z[entry]), 0, nz).astype(np.int64)
    k1 = np.clip(np.floor(z[entry + 1]) + 1, 0, nz).astype(np.int64)
    keep = k1 > k0
    column, k0, k1 = pixels[entry][keep], k0[keep], k1[keep]
    marks = np.zeros((occupied.shape[0] * occupied.shape[1], nz + 1), dtype=np.int32)
    np.add.at(marks, (column, k0), 1)
    np.add.at(marks, (column, k1), -1)
    occupied |= (np.cumsum(marks[:, :nz], axis=1) > 0).reshape(occupied.shape)
