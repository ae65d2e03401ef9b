"""Animation data between glTF and the Model: resampling to whole frames, rest-pose rotations."""

from __future__ import annotations

from typing import Any

import numpy as np


def resample_channel(
    times: np.ndarray[Any, Any],
    values: np.ndarray[Any, Any],
    interpolation: str,
    frames: np.ndarray[Any, Any],
    *,
    rotation: bool,
) -> np.ndarray[Any, Any]:
    """The sampler's values at `frames` (seconds), float32 (len(frames), components).

    Keys that already sit on the frames are returned untouched, so a file written per frame
    reads back bit for bit. Rotations interpolate along the shorter arc (normalized lerp);
    cubic splines use their keyframe values only.
    """
    if interpolation == "CUBICSPLINE":
        values = values[1::3]
    if len(times) == 0 or len(values) != len(times):
        raise ValueError(f"animation sampler has {len(times)} times but {len(values)} values")
    if np.array_equal(times.astype(np.float32), frames):
        return values.astype(np.float32)
    before = np.clip(np.searchsorted(times, frames, side="right") - 1, 0, len(times) - 1)
    after = np.minimum(before + 1, len(times) - 1)
    if interpolation == "STEP":
        return values[before].astype(np.float32)
    span = times[after] - times[before]
    safe_span = np.where(span > 0, span, 1.0)
    weight = np.clip(np.where(span > 0, (frames - times[before]) / safe_span, 0.0), 0.0, 1.0)[:, None]
    start, end = values[before], values[after]
    if rotation:
        end = np.where(np.sum(start * end, axis=1, keepdims=True) < 0, -end, end)
    blended = start * (1.0 - weight) + end * weight
    if rotation:
        blended /= np.maximum(np.linalg.norm(blended, axis=1, keepdims=True), 1e-12)
    return np.asarray(blended, np.float32)


def quaternion_multiply(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Hamilton products a * b of (..., 4) quaternions stored (x, y, z, w); broadcasts."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def quaternion_inverse(q: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The inverse of unit quaternions (their conjugate)."""
    return np.asarray(q, np.float64) * (-1.0, -1.0, -1.0, 1.0)


def matrix_quaternions(matrices: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """(N, 3, 3) rotation(-and-scale) matrices as (N, 4) unit quaternions (scale divided out)."""
    m = np.asarray(matrices, np.float64)
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)  # unit columns
    trace = np.trace(m, axis1=1, axis2=2)
    candidates = np.stack(
        [
            np.stack(
                [m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1], 1 + trace], -1
            ),
            np.stack(
                [
                    1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                    m[:, 0, 1] + m[:, 1, 0],
                    m[:, 0, 2] + m[:, 2, 0],
                    m[:, 2, 1] - m[:, 1, 2],
                ],
                -1,
            ),
            np.stack(
                [
                    m[:, 0, 1] + m[:, 1, 0],
                    1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2],
                    m[:, 1, 2] + m[:, 2, 1],
                    m[:, 0, 2] - m[:, 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[:, 0, 2] + m[:, 2, 0],
                    m[:, 1, 2] + m[:, 2, 1],
                    1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2],
                    m[:, 1, 0] - m[:, 0, 1],
                ],
                -1,
            ),
        ],
        axis=1,
    )  # (N, 4 candidates, 4): each is 4 * (the largest component) * q; pick the best conditioned
    best = np.argmax(np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], -1), axis=1)
    q = candidates[np.arange(len(m)), best]
    return np.asarray(q / np.linalg.norm(q, axis=1, keepdims=True), np.float64)


def identity_rest_rotations(
    rotations: np.ndarray[Any, Any], rest: np.ndarray[Any, Any], parent_frames: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Local rotations re-expressed for a skeleton whose rest rotations are all identity.

    A file may give joints rest rotations R (Blender's exporter does: bones point along their
    own Y axis). With P the bind-pose world rotation of each joint's parent frame, the same
    skinned pose results from Q = P * A * R^-1 * P^-1 on an identity-rest skeleton, where A
    is the file's animated local rotation. rotations: (T, J, 4); rest, parent_frames: (J, 4).
    """
    frame = np.asarray(parent_frames, np.float64)[None]
    relative = quaternion_multiply(rotations, quaternion_inverse(rest)[None])
    result = quaternion_multiply(quaternion_multiply(frame, relative), quaternion_inverse(frame))
    return np.asarray(result / np.linalg.norm(result, axis=-1, keepdims=True), np.float32)
