"""Mirror symmetry about the plane x = 0 (the model's left-right plane).

A solid is near-symmetric when points spread over its surface, mirrored, land within 1 % of
its bounding-box diagonal of the surface, for 99 % of the points. Enforcing symmetry keeps
the x >= 0 half and joins it to its mirror image; simplifying such a half and mirroring it
the same way gives a low-poly mesh that is symmetric vertex for vertex.
"""

from __future__ import annotations

import manifold3d
import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from services.retopo.repair import from_manifold, to_manifold

SYMMETRY_TOLERANCE = 0.01  # of the bounding-box diagonal
SYMMETRY_QUANTILE = 99.0
SYMMETRY_SAMPLES = 4000
MIRROR_X = (1.0, 0.0, 0.0)
# Vertices this close to x = 0 (a share of the half's median edge) are put on the plane: the
# simplifier leaves some a fraction of a millimetre off it, and each would face its mirror image
# across a sub-millimetre sliver edge that any skinning stretches many times over.
PLANE_SNAP = 0.05


def is_near_symmetric(solid: manifold3d.Manifold) -> bool:
    positions, faces = from_manifold(solid)
    diagonal = float(np.linalg.norm(positions.max(axis=0) - positions.min(axis=0)))
    mirrored = meshops.sample_surface(positions, faces, SYMMETRY_SAMPLES, seed=0) * (-1.0, 1.0, 1.0)
    distances = meshops.SurfaceIndex(positions, faces, candidates=8).closest(mirrored).distances
    return bool(np.percentile(distances, SYMMETRY_QUANTILE) <= SYMMETRY_TOLERANCE * diagonal)


def positive_half(solid: manifold3d.Manifold) -> manifold3d.Manifold:
    """The part with x >= 0, closed by a flat cap on the plane."""
    return solid.trim_by_plane(MIRROR_X, 0.0)


def snapped_to_plane(
    positions: npt.NDArray[np.float64], faces: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """`positions` with every vertex within PLANE_SNAP median edges of x = 0 put on it."""
    snapped = positions.copy()
    if len(faces):
        edges = positions[faces] - positions[np.roll(faces, 1, axis=1)]
        snap = PLANE_SNAP * float(np.median(np.linalg.norm(edges, axis=2)))
        snapped[np.abs(snapped[:, 0]) <= snap, 0] = 0.0
    return snapped


def mirrored_whole(half: manifold3d.Manifold) -> manifold3d.Manifold:
    """A half and its mirror image, joined along their common cap.

    The cap faces (all corners on the plane) are dropped from both and the rims welded,
    rather than taking a boolean union, which keeps coincident seam vertices apart where the
    halves only touch and so is not watertight once welded.
    """
    positions, faces = from_manifold(half)
    positions = snapped_to_plane(positions, faces)
    on_plane = positions[:, 0] == 0.0
    side = faces[~on_plane[faces].all(axis=1)]
    mirror = positions * (-1.0, 1.0, 1.0)
    welded_positions, welded = meshops.weld(
        np.concatenate([positions, mirror]), np.concatenate([side, side[:, ::-1] + len(positions)])
    )
    return to_manifold(welded_positions, welded)
