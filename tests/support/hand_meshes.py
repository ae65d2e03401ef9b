"""A capsule humanoid (as tests.support.creature_meshes.humanoid_mesh) with human-sized flat hands:
a palm slab and four separate finger capsules, for the rig's finger tests.

The forearm tapers to a 3 cm wrist; the hand is 19 cm long, 8.6 cm wide and 3 cm thick (a human
hand), its palm plane turned 45 degrees about the arm from facing down, thumb side forward (+Z),
so that the front view still shows the wrist as the arm's narrowest point.
"""

from __future__ import annotations

import math

import manifold3d
import numpy as np

from assetcore.geometry.model import Mesh

Point = tuple[float, float, float]

WRIST_RADIUS = 0.03
PALM = (0.1, 0.086, 0.03)  # length, width, thickness (m)
FINGER_RADIUS = 0.0085
# finger -> (offset across the palm towards the thumb side, length past the palm)
FINGER_CAPSULES = {
    "Index": (0.032, 0.078),
    "Middle": (0.011, 0.09),
    "Ring": (-0.011, 0.082),
    "Pinky": (-0.032, 0.064),
}
PALM_TILT_DEGREES = 45.0


def _capsule(a: Point, b: Point, radius: float, end_radius: float | None = None) -> manifold3d.Manifold:
    start = manifold3d.Manifold.sphere(radius, 16).translate(a)
    end = manifold3d.Manifold.sphere(radius if end_radius is None else end_radius, 16).translate(b)
    return manifold3d.Manifold.batch_hull([start, end])


def hand_frame(side: float, arm_drop_degrees: float) -> np.ndarray:  # type: ignore[type-arg]
    """(3, 3) columns: along the arm, across the palm (towards the thumb), through the palm."""
    drop = math.radians(arm_drop_degrees)
    along = np.array([side * math.cos(drop), -math.sin(drop), 0.0])
    forward = np.array([0.0, 0.0, 1.0])
    through = np.cross(along, forward)
    tilt = math.radians(PALM_TILT_DEGREES)
    across = math.cos(tilt) * forward + math.sin(tilt) * through
    return np.column_stack([along, across, np.cross(along, across)])


def _hand(wrist: np.ndarray, frame: np.ndarray) -> list[manifold3d.Manifold]:  # type: ignore[type-arg]
    length, width, thickness = PALM
    palm = manifold3d.Manifold.cube((length, width, thickness), True).translate((length / 2, 0.0, 0.0))
    parts = [palm]
    for across, reach in FINGER_CAPSULES.values():
        parts.append(
            _capsule(
                (length - 0.01, across, 0.0), (length + reach - FINGER_RADIUS, across, 0.0), FINGER_RADIUS
            )
        )
    placed = manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add)
    matrix = np.column_stack([frame, wrist])
    return [placed.transform(matrix.tolist())]


def flat_handed_humanoid_mesh(arm_drop_degrees: float = 20.0) -> Mesh:
    """A 1.8 m capsule humanoid whose arms end in flat, fingered hands."""
    parts = [
        _capsule((0, 0.98, 0), (0, 1.38, 0), 0.16),
        _capsule((0, 1.4, 0), (0, 1.52, 0), 0.055),
        manifold3d.Manifold.sphere(0.115, 20).translate((0, 1.65, 0.01)),
    ]
    for side in (1.0, -1.0):
        hip, knee, ankle = (side * 0.1, 0.92, 0.0), (side * 0.15, 0.5, 0.01), (side * 0.19, 0.1, 0.0)
        parts += [
            _capsule(hip, knee, 0.075),
            _capsule(knee, ankle, 0.06),
            _capsule((ankle[0], 0.05, -0.04), (ankle[0], 0.05, 0.14), 0.05),
        ]
        frame = hand_frame(side, arm_drop_degrees)
        shoulder = np.array([side * 0.2, 1.36, 0.0])
        elbow = shoulder + 0.3 * frame[:, 0]
        wrist = elbow + 0.26 * frame[:, 0]
        parts += [
            _capsule(tuple(shoulder - 0.08 * frame[:, 0]), tuple(elbow), 0.055),
            _capsule(tuple(elbow), tuple(wrist), 0.045, WRIST_RADIUS),
            *_hand(wrist, frame),
        ]
    solid = manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add).refine_to_length(0.02)
    raw = solid.to_mesh()
    positions = np.array(raw.vert_properties, dtype=np.float32)[:, :3]
    positions[:, 1] -= positions[:, 1].min()
    return Mesh(positions=positions, faces=np.asarray(raw.tri_verts, dtype=np.uint32), name="flat_hands")
