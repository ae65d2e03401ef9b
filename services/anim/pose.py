"""Build clips in world space: set joints' world rotations over time, read back positions, emit
the local rotations a `Clip` stores.

Rest joints have identity rotations (see assetcore.geometry.model), so a joint's world rotation
is the product of the local rotations down its chain, and a joint nobody sets follows its
parent (local identity). Every array is vectorised over the clip's frames.
"""

from __future__ import annotations

import numpy as np

from assetcore.geometry.model import Clip, Skeleton
from assetcore.geometry.skeleton import joint_index
from services.anim import quaternions as quat
from services.anim.quaternions import Floats

FORWARD = np.array([0.0, 0.0, 1.0])


class Poser:
    """World rotations (frames, joints, 4) and the root's offset from rest (frames, 3)."""

    def __init__(self, skeleton: Skeleton, frames: int) -> None:
        self.skeleton = skeleton
        self.frames = frames
        self.world = quat.identity(frames, skeleton.joint_count)
        self.explicit = np.zeros(skeleton.joint_count, dtype=bool)
        self.root_offset = np.zeros((frames, 3))
        self._rest = skeleton.heads.astype(np.float64)

    def index(self, name: str) -> int:
        return joint_index(self.skeleton, name)

    def has(self, name: str) -> bool:
        return name in self.skeleton.names

    def set(self, name: str, rotation: Floats) -> None:
        """Fix a joint's world rotation: (4,) for every frame or (frames, 4)."""
        j = self.index(name)
        self.world[:, j] = np.broadcast_to(quat.normalize(rotation), (self.frames, 4))
        self.explicit[j] = True

    def get(self, name: str) -> Floats:
        """A joint's world rotation per frame (after `resolve` for joints that follow their parent)."""
        return self.world[:, self.index(name)]

    def resolve(self) -> None:
        """Joints nobody set take their parent's world rotation (parents precede children)."""
        for j, parent in enumerate(self.skeleton.parents):
            if parent >= 0 and not self.explicit[j]:
                self.world[:, j] = self.world[:, parent]

    def positions(self) -> Floats:
        """World head positions (frames, joints, 3) of the current rotations (resolved first)."""
        self.resolve()
        heads = np.zeros((self.frames, self.skeleton.joint_count, 3))
        for j, parent in enumerate(self.skeleton.parents):
            if parent < 0:
                heads[:, j] = self._rest[j] + self.root_offset
            else:
                offset = self._rest[j] - self._rest[parent]
                heads[:, j] = heads[:, parent] + quat.rotate(self.world[:, parent], offset)
        return heads

    def position(self, name: str) -> Floats:
        position: Floats = self.positions()[:, self.index(name)]
        return position

    def rest(self, name: str) -> Floats:
        rest: Floats = self._rest[self.index(name)]
        return rest

    def rest_tail(self, name: str) -> Floats:
        tail: Floats = self.skeleton.tails[self.index(name)].astype(np.float64)
        return tail

    def to_clip(self, name: str, fps: float, loop: bool, heading: Floats = FORWARD) -> Clip:
        """The clip: local rotations (frames, joints, 4), hemisphere-continuous, unit length. A loop's
        last frame repeats the first, but for the root's travel along `heading`."""
        self.resolve()
        local = np.empty_like(self.world)
        for j, parent in enumerate(self.skeleton.parents):
            parent_world = quat.identity(self.frames) if parent < 0 else self.world[:, parent]
            local[:, j] = quat.multiply(quat.conjugate(parent_world), self.world[:, j])
        local = quat.normalize(quat.continuous(local, axis=0))
        root = self.root_offset.copy()
        if loop:  # exact seam: the last frame repeats the first
            local[-1] = local[0]
            root[-1] = root[0] + np.dot(root[-1] - root[0], heading) * heading
        return Clip(
            name=name,
            fps=float(fps),
            rotations=local.astype(np.float32),
            root_translations=root.astype(np.float32),
            loop=loop,
        )


def two_bone_ik(
    root: Floats, target: Floats, upper: Floats, lower: Floats, pole: Floats
) -> tuple[Floats, Floats]:
    """World rotations (frames, 4) of a two-bone chain reaching from `root` towards `target`.

    `upper` and `lower` are the rest bone vectors (root->middle, middle->end); the middle joint
    bends towards `pole` (a world direction). Targets out of reach leave the chain almost straight.
    """
    a, b = float(np.linalg.norm(upper)), float(np.linalg.norm(lower))
    reach = target - root
    distance = np.linalg.norm(reach, axis=-1, keepdims=True)
    direction = reach / np.maximum(distance, 1e-12)
    distance = np.clip(distance, abs(a - b) + 1e-6, 0.9999 * (a + b))
    cos_root = np.clip((a * a + distance**2 - b * b) / (2 * a * distance), -1.0, 1.0)
    bend = pole - np.sum(pole * direction, axis=-1, keepdims=True) * direction
    bend = bend / np.maximum(np.linalg.norm(bend, axis=-1, keepdims=True), 1e-12)
    middle = root + a * (cos_root * direction + np.sqrt(1.0 - cos_root**2) * bend)
    end = root + distance * direction
    upper_rotation = quat.between(upper, middle - root)
    lower_rotation = quat.between(lower, end - middle)
    return upper_rotation, lower_rotation
