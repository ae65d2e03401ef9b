"""Unit quaternions as (..., 4) float64 arrays in glTF order (x, y, z, w), vectorised."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def identity(*shape: int) -> Floats:
    return np.broadcast_to(IDENTITY, (*shape, 4)).copy()


def multiply(a: Floats, b: Floats) -> Floats:
    """The rotation b then a (Hamilton product a * b)."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: Floats) -> Floats:
    return np.asarray(q, dtype=np.float64) * np.array([-1.0, -1.0, -1.0, 1.0], dtype=np.float64)


def normalize(q: Floats) -> Floats:
    q = np.asarray(q, dtype=np.float64)
    unit: Floats = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-300)
    return unit


def from_axis_angle(axis: Floats, angle: Floats | float) -> Floats:
    """Rotation by `angle` radians about `axis` (broadcast: one axis, many angles, or both)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-300)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate([axis * np.sin(half), np.cos(half)], axis=-1)


def about_x(angle: Floats | float) -> Floats:
    return from_axis_angle(np.array([1.0, 0.0, 0.0]), angle)


def about_y(angle: Floats | float) -> Floats:
    return from_axis_angle(np.array([0.0, 1.0, 0.0]), angle)


def about_z(angle: Floats | float) -> Floats:
    return from_axis_angle(np.array([0.0, 0.0, 1.0]), angle)


def rotate(q: Floats, v: Floats) -> Floats:
    """Vectors v rotated by q (broadcast over leading axes)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u, w = q[..., :3], q[..., 3:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def between(a: Floats, b: Floats) -> Floats:
    """The smallest rotation taking direction a to direction b (broadcast)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-300)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-300)
    a, b = np.broadcast_arrays(a, b)
    dot = np.sum(a * b, axis=-1, keepdims=True)
    axis = np.cross(a, b)
    opposite = dot[..., 0] < -1.0 + 1e-9
    if np.any(opposite):  # any axis perpendicular to a
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        perpendicular = np.cross(a, helper)
        axis = np.where(opposite[..., None], perpendicular, axis)
        dot = np.where(opposite[..., None], -1.0, dot)
    return normalize(np.concatenate([axis, 1.0 + dot], axis=-1))


def slerp(a: Floats, b: Floats, t: Floats | float) -> Floats:
    """Spherical interpolation along the shorter arc (broadcast)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-6
    safe = np.where(near, 1.0, sin)
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    wb = np.where(near, t, np.sin(t * theta) / safe)
    return normalize(wa * a + wb * b)


def from_matrix(m: Floats) -> Floats:
    """Quaternions of rotation matrices (..., 3, 3) (Shepperd's method, vectorised)."""
    m = np.asarray(m, dtype=np.float64)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = np.stack(
        [
            np.stack(
                [
                    1 + 2 * m[..., 0, 0] - trace,
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 2, 1] - m[..., 1, 2],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 1] + m[..., 1, 0],
                    1 + 2 * m[..., 1, 1] - trace,
                    m[..., 1, 2] + m[..., 2, 1],
                    m[..., 0, 2] - m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 + 2 * m[..., 2, 2] - trace,
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                    1 + trace,
                ],
                -1,
            ),
        ],
        axis=-2,
    )
    pivot = np.argmax(np.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], trace], -1), axis=-1)
    chosen = np.take_along_axis(candidates, pivot[..., None, None], axis=-2)[..., 0, :]
    return normalize(chosen)


def continuous(q: Floats, axis: int = 0) -> Floats:
    """Flip signs along `axis` (time) so that consecutive quaternions lie in the same hemisphere."""
    q = np.moveaxis(np.array(q, dtype=np.float64), axis, 0)
    for index in range(1, len(q)):
        flip = np.sum(q[index] * q[index - 1], axis=-1) < 0
        q[index][flip] *= -1.0
    return np.moveaxis(q, 0, axis)
