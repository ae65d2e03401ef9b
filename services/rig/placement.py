"""Where a fitter has put the joints so far: rest heads and tails in model space, plus notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assetcore.geometry.model import Skeleton
from assetcore.geometry.skeleton import build_skeleton
from services.rig.projection import Floats

_PAIRS = (("Left", "Right"), ("FrontLeft", "FrontRight"), ("HindLeft", "HindRight"))


@dataclass
class Placement:
    notes: list[str]
    heads: dict[str, Floats] = field(default_factory=dict)
    tails: dict[str, Floats] = field(default_factory=dict)
    estimated: list[str] = field(default_factory=list)  # landmarks the shape did not show clearly

    def estimate(self, landmark: str) -> None:
        """Record a landmark placed by body proportion along its limb (the mesh had no cue for it)."""
        self.estimated.append(landmark)

    def chain(self, names: Sequence[str], points: Sequence[Floats]) -> None:
        """Bones names[i] from points[i] to points[i + 1] (one more point than names)."""
        for index, name in enumerate(names):
            self.heads[name] = np.asarray(points[index], dtype=np.float64)
            self.tails[name] = np.asarray(points[index + 1], dtype=np.float64)

    def skeleton(self, layout: Sequence[tuple[str, str | None]]) -> Skeleton:
        if self.estimated:
            self.notes.append(
                f"rig: placed by proportion along the limb (no cue in the shape): {', '.join(self.estimated)}"
            )
        return build_skeleton(layout, self.heads, self.tails)

    def symmetrize(self, centre_x: float, tolerance: float) -> None:
        """Make the skeleton exactly left/right symmetric about x = centre_x when every Left*/Right*
        pair already mirrors within `tolerance`: landmarks read off voxels jitter by a voxel or so,
        which on a symmetric mesh would make mirrored clips look lopsided."""
        pairs = self._mirror_pairs()
        mirror = np.array([-1.0, 1.0, 1.0])
        offset = np.array([2.0 * centre_x, 0.0, 0.0])
        for points in (self.heads, self.tails):
            for left, right in pairs:
                if np.max(np.abs(points[left] - (points[right] * mirror + offset))) > tolerance:
                    return
        paired = {name for pair in pairs for name in pair}
        for points in (self.heads, self.tails):
            for left, right in pairs:
                mean = 0.5 * (points[left] + points[right] * mirror + offset)
                points[left], points[right] = mean, mean * mirror + offset
            for name in points:
                if name not in paired:
                    points[name] = np.array([centre_x, points[name][1], points[name][2]])
        self.notes.append("rig: the mesh is left/right symmetric; the skeleton was made exactly symmetric")

    def _mirror_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for name in self.heads:
            for left, right in _PAIRS:
                if name.startswith(left):
                    other = right + name[len(left) :]
                    if other in self.heads:
                        pairs.append((name, other))
                    break
        return pairs
