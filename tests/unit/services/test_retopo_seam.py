"""The mirror seam: vertices the simplifier leaves a hair off x = 0 are put on it, so they weld
with their mirror images instead of facing them across sub-millimetre sliver edges (the horse
had 213 such edges, every one on the seam, and skinning stretched them up to 9x)."""

from __future__ import annotations

import manifold3d
import numpy as np

from services.retopo.repair import from_manifold
from services.retopo.symmetry import PLANE_SNAP, mirrored_whole, positive_half, snapped_to_plane


def test_vertices_a_hair_off_the_plane_are_put_on_it() -> None:
    positions = np.array([[0.0, 0, 0], [1.0, 0, 0], [0.0, 1, 0], [0.004, 1, 1], [0.3, 0, 1]])
    faces = np.array([[0, 1, 2], [2, 1, 3], [3, 1, 4]])
    snapped = snapped_to_plane(positions, faces)
    median_edge = np.median(np.linalg.norm(positions[faces] - positions[np.roll(faces, 1, axis=1)], axis=2))
    assert 0.004 < PLANE_SNAP * median_edge < 0.3
    assert snapped[3, 0] == 0.0 and snapped[4, 0] == 0.3  # the near one moves, the far one stays
    assert np.array_equal(snapped[:, 1:], positions[:, 1:])


def test_a_mirrored_half_is_exactly_symmetric_and_closed() -> None:
    whole = mirrored_whole(positive_half(manifold3d.Manifold.sphere(1.0, 48)))
    positions, _ = from_manifold(whole)
    assert whole.status() == manifold3d.Error.NoError
    assert np.allclose(np.sort(positions[:, 0]), -np.sort(positions[:, 0])[::-1])
