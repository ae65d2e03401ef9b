"""Small synthetic character meshes for rig and anim tests: capsules unioned with manifold3d.

They follow the pipeline's conventions: metres, +Y up, facing +Z, standing on y = 0; the
humanoid in a T- or A-pose with legs apart, the quadruped with four separate legs and a tail.
"""

from __future__ import annotations

import math

import manifold3d
import numpy as np
from scipy import ndimage
from skimage import measure

from assetcore.geometry.model import Mesh

Point = tuple[float, float, float]


def _capsule(a: Point, b: Point, radius: float, segments: int = 16) -> manifold3d.Manifold:
    sphere = manifold3d.Manifold.sphere(radius, segments)
    return manifold3d.Manifold.batch_hull([sphere.translate(a), sphere.translate(b)])


def _ball(centre: Point, radius: float, segments: int = 20) -> manifold3d.Manifold:
    return manifold3d.Manifold.sphere(radius, segments).translate(centre)


def _to_mesh(parts: list[manifold3d.Manifold], name: str) -> Mesh:
    solid = manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add)
    raw = solid.to_mesh()
    positions = np.array(raw.vert_properties, dtype=np.float32)[:, :3]
    faces = np.asarray(raw.tri_verts, dtype=np.uint32)
    positions[:, 1] -= positions[:, 1].min()  # stand on y = 0
    return Mesh(positions=positions, faces=faces, name=name)


def humanoid_mesh(arm_drop_degrees: float = 0.0, height_scale: float = 1.0, staff: bool = False) -> Mesh:
    """A 1.8 m capsule humanoid; arm_drop_degrees 0 is a T-pose, ~35 an A-pose. With `staff` the
    right hand holds an upright staff that stands on the floor."""
    s = height_scale
    drop = math.radians(arm_drop_degrees)
    parts = [
        _capsule((0, 0.98 * s, 0), (0, 1.38 * s, 0), 0.16 * s),  # torso
        _capsule((0, 1.4 * s, 0), (0, 1.52 * s, 0), 0.055 * s),  # neck
        _ball((0, 1.65 * s, 0.01 * s), 0.115 * s),  # head
    ]
    for side in (1.0, -1.0):
        hip = (side * 0.1 * s, 0.92 * s, 0.0)
        knee = (side * 0.15 * s, 0.5 * s, 0.01 * s)
        ankle = (side * 0.19 * s, 0.1 * s, 0.0)
        parts += [
            _capsule(hip, knee, 0.075 * s),
            _capsule(knee, ankle, 0.06 * s),
            _capsule((ankle[0], 0.05 * s, -0.04 * s), (ankle[0], 0.05 * s, 0.14 * s), 0.05 * s),  # foot
        ]
        shoulder = np.array([side * 0.2 * s, 1.36 * s, 0.0])
        direction = np.array([side * math.cos(drop), -math.sin(drop), 0.0])
        elbow = shoulder + 0.3 * s * direction
        wrist = elbow + 0.26 * s * direction
        hand = wrist + 0.1 * s * direction
        parts += [
            _capsule(tuple(shoulder - 0.08 * s * direction), tuple(elbow), 0.055 * s),
            _capsule(tuple(elbow), tuple(wrist), 0.045 * s),
            _capsule(tuple(wrist), tuple(hand), 0.05 * s),
        ]
        if staff and side < 0:
            grip = wrist + 0.05 * s * direction
            parts.append(_capsule((grip[0], 0.025 * s, 0.0), (grip[0], 1.75 * s, 0.0), 0.025 * s))
    return _to_mesh(parts, "humanoid")


def quadruped_mesh(tail: bool = True) -> Mesh:
    """A wolf-sized (0.8 m tall) capsule quadruped facing +Z."""
    parts = [
        _capsule((0, 0.55, -0.35), (0, 0.58, 0.3), 0.14),  # body
        _capsule((0, 0.6, 0.32), (0, 0.78, 0.48), 0.07),  # neck
        _ball((0, 0.82, 0.52), 0.1),  # head
        _capsule((0, 0.8, 0.55), (0, 0.76, 0.7), 0.05),  # muzzle
    ]
    if tail:
        parts.append(_capsule((0, 0.6, -0.45), (0, 0.45, -0.78), 0.035))
    for z in (0.25, -0.3):
        for side in (1.0, -1.0):
            x = side * 0.09
            parts += [
                _capsule((x, 0.5, z), (x, 0.26, z - 0.02), 0.045),
                _capsule((x, 0.26, z - 0.02), (x, 0.04, z), 0.035),
                _capsule((x, 0.03, z), (x, 0.03, z + 0.06), 0.03),
            ]
    return _to_mesh(parts, "quadruped")


def box_mesh(size: float = 1.0) -> Mesh:
    """A closed box standing on y = 0: no legs, no arms."""
    return _to_mesh([manifold3d.Manifold.cube((size, size, size), True).translate((0, size / 2, 0))], "box")


def inflated_humanoid_mesh(resolution: int = 96, arm_drop_degrees: float = 20.0) -> Mesh:
    """A humanoid the way image3d makes one: a front silhouette inflated into a round solid and
    meshed with marching cubes (1.8 m tall, about 20k triangles at resolution 96)."""
    pitch = 1.9 / resolution
    xs = (np.arange(resolution + 8) - (resolution + 8) / 2) * pitch
    ys = (np.arange(resolution + 4) - 2) * pitch
    x, y = np.meshgrid(xs, ys, indexing="ij")
    drop = math.radians(arm_drop_degrees)
    strokes = [((0, 1.0), (0, 1.35), 0.17), ((0, 1.38), (0, 1.5), 0.06), ((0, 1.64), (0, 1.66), 0.12)]
    for side in (1.0, -1.0):
        end = (side * (0.2 + 0.62 * math.cos(drop)), 1.36 - 0.62 * math.sin(drop))
        strokes += [
            ((side * 0.1, 0.92), (side * 0.18, 0.09), 0.075),
            ((side * 0.18, 0.06), (side * 0.18, 0.05), 0.06),
            ((side * 0.15, 1.36), end, 0.05),
            (end, end, 0.065),
        ]
    mask = np.zeros(x.shape, dtype=bool)
    for (ax, ay), (bx, by), radius in strokes:
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        mask |= (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= radius**2
    mask &= y >= 0
    inside = ndimage.distance_transform_edt(mask) * pitch
    thickness = np.sqrt(np.maximum(2 * inside * ndimage.maximum_filter(inside, size=9) - inside**2, 0))
    zs = (np.arange(-24, 25)) * pitch
    volume = np.where(mask, thickness + 0.5 * pitch, -pitch)[:, :, None] - np.abs(zs)[None, None, :]
    vertices, faces, _, _ = measure.marching_cubes(np.pad(volume, 1, constant_values=-1), 0.0)
    positions = (vertices - 1) * pitch + [xs[0], ys[0], zs[0]]
    positions[:, 1] -= positions[:, 1].min()
    return Mesh(
        positions=positions.astype(np.float32), faces=faces[:, ::-1].astype(np.uint32), name="inflated"
    )
