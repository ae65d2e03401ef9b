"""Rounding of parts that lie along the view depth (a quadruped's body, neck, snout and tail).

hull.py rounds each horizontal slice, which makes upright parts round but leaves a part lying
along z rectangular in its vertical cross-sections (a box-like body from the front). Here each
constant-z slice of the carved hull is cut to a stadium inscribed in the rectangle of the x-run
of the hull's top projection and the y-run of the slice itself through the point (not of the
side view's column, which through a leg runs from the hoof to the back: between the legs the
body's run ends at the belly). The cut applies only where the hull's own run along z through the
point is longer than its cross-section (blended in from equal to twice as long), so legs, ears,
upright bodies and discs facing z stay whole; a run along y that reaches the ground is rounded
at its top only, so feet and hooves keep their soles.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]  # the grid has millions of voxels: half the memory traffic

GROUND_VOXELS = 2  # runs along y starting this close to the hull's lowest voxel stand on the ground


def lengthwise_cut(inside: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """For a voxel grid (x, y, z): the cross-section stadium's signed distance in voxels (> 0
    inside; +inf outside the hull) and its weight per voxel (0 where the part is not longer
    along z than across)."""
    offset_x, half_x = _run_position(inside.any(axis=1, keepdims=True), 0)  # the top view's runs
    (offset_y, half_y), (_, half_z) = _run_position(inside, 1), _run_position(inside, 2)
    y_index = np.arange(inside.shape[1], dtype=np.float32).reshape(1, -1, 1)
    bottom = y_index - offset_y - half_y + 0.5  # the first voxel of the run along y
    ground = np.flatnonzero(inside.any(axis=(0, 2)))[0] if inside.any() else 0
    standing = bottom <= ground + GROUND_VOXELS  # on the ground: feet, hooves and what stands on them
    radius = np.minimum(half_x, half_y)
    dx = np.maximum(np.abs(offset_x) - (half_x - radius), 0.0)
    dy = np.maximum(np.where(standing, offset_y, np.abs(offset_y)) - (half_y - radius), 0.0)
    stadium = np.where(inside, radius - np.hypot(dx, dy), np.float32(np.inf))
    across = np.maximum(np.maximum(half_x, half_y), 0.5)
    weight = np.where(inside, np.clip(half_z / across - 1.0, 0.0, 1.0), 0.0)
    return stadium, weight


def _run_position(inside: npt.NDArray[np.bool_], axis: int) -> tuple[FloatArray, FloatArray]:
    """Each voxel's offset from the centre of the run of inside voxels along `axis` that holds
    it, and that run's half-length (its ends are half a voxel beyond its end voxels)."""
    moved = np.moveaxis(inside, axis, -1)
    length = moved.shape[-1]
    index = np.broadcast_to(np.arange(length, dtype=np.int32), moved.shape)
    last_out = np.maximum.accumulate(np.where(moved, -1, index), axis=-1)
    reversed_out = np.maximum.accumulate(np.where(moved[..., ::-1], -1, index), axis=-1)[..., ::-1]
    start, end = last_out + 1, length - 2 - reversed_out  # first and last inside voxel
    offset = (2 * index - start - end).astype(np.float32) * np.float32(0.5)
    half = (end - start + 1).astype(np.float32) * np.float32(0.5)
    return np.moveaxis(offset, -1, axis), np.moveaxis(half, -1, axis)
