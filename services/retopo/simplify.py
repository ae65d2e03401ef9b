"""Simplify a solid to a face count with manifold3d, which keeps it a closed 2-manifold.

`Manifold.simplify(tolerance)` collapses edges while the surface stays within `tolerance`
of where it was; it takes no face count, so the count is searched for: passes with growing
tolerances (each on the previous, smaller result) run until the count drops below the
target, then a bisection over the last pass's tolerance lands within COUNT_TOLERANCE of it.
A solid with too few faces is refined instead (edges split to a searched length), so the
face-count contract holds for small inputs too.
"""

from __future__ import annotations

import manifold3d
import numpy as np
import numpy.typing as npt

from services.retopo.repair import from_manifold
from services.retopo.symmetry import mirrored_whole

COUNT_TOLERANCE = 0.03  # aim: within 3 % of the target (the step's gate allows 10 %)
FIRST_TOLERANCE = 0.05  # of the median edge length
TOLERANCE_GROWTH = 2.0
MAX_PASSES = 60
BISECTIONS = 14
SYMMETRIC_ROUNDS = 4  # the mirrored cap's share of the count is only known afterwards


def simplified(solid: manifold3d.Manifold, target: int) -> manifold3d.Manifold:
    """The solid with about `target` triangles."""
    count = solid.num_tri()
    if _close(count, target):
        return solid
    if count > target:
        solid = _coarsened(solid, target)
    if solid.num_tri() < target and not _close(solid.num_tri(), target):
        # Too few faces to begin with, or flat regions (which collapse whatever the
        # tolerance) made the coarsening undershoot: split edges back up.
        solid = _refined(solid, target)
    return solid


def simplified_symmetric(
    half: manifold3d.Manifold, target: int
) -> tuple[manifold3d.Manifold, manifold3d.Manifold]:
    """A mirror-symmetric solid of about `target` triangles from its x >= 0 half.
    Returns (the whole solid, the simplified half it mirrors)."""
    half_target = max((target + 1) // 2, 4)
    best: tuple[manifold3d.Manifold, manifold3d.Manifold] | None = None
    for _ in range(SYMMETRIC_ROUNDS):
        simple_half = simplified(half, half_target)
        whole = mirrored_whole(simple_half)
        count = whole.num_tri()
        if best is None or abs(count - target) < abs(best[0].num_tri() - target):
            best = whole, simple_half
        if _close(count, target):
            break
        half_target = max(half_target + (target - count) // 2, 4)
    assert best is not None
    return best


def _close(count: int, target: int) -> bool:
    return abs(count - target) <= COUNT_TOLERANCE * target


def _coarsened(solid: manifold3d.Manifold, target: int) -> manifold3d.Manifold:
    median_edge = _median_edge(solid)
    tolerance = FIRST_TOLERANCE * median_edge
    previous = solid
    for _ in range(MAX_PASSES):
        current = previous.simplify(tolerance)
        count = current.num_tri()
        if _close(count, target):
            return current
        if count < target:
            return _bisected(previous, tolerance, target, fallback=current)
        if count == previous.num_tri() and tolerance > 1e3 * median_edge:
            return current  # nothing left to collapse
        previous = current
        tolerance *= TOLERANCE_GROWTH
    return previous


def _bisected(
    solid: manifold3d.Manifold, high: float, target: int, *, fallback: manifold3d.Manifold
) -> manifold3d.Manifold:
    """The solid simplified with a tolerance in (0, high), where `high` leaves too few faces,
    closest to the target. (A pass with the tolerance of the pass that made `solid` still
    removes faces, so the search starts at 0.)"""
    best, low = fallback, 0.0
    for _ in range(BISECTIONS):
        middle = (low + high) / 2.0
        candidate = solid.simplify(middle)
        count = candidate.num_tri()
        if abs(count - target) < abs(best.num_tri() - target):
            best = candidate
        if _close(count, target):
            break
        low, high = (middle, high) if count > target else (low, middle)
    return best


def _refined(solid: manifold3d.Manifold, target: int) -> manifold3d.Manifold:
    """Split edges until the count reaches the target (the shape does not change)."""
    longest = _edge_lengths(solid).max()
    low, high = longest * np.sqrt(solid.num_tri() / target) / 8.0, longest
    best = solid
    for _ in range(BISECTIONS * 2):
        middle = float(np.sqrt(low * high))
        candidate = solid.refine_to_length(middle)
        count = candidate.num_tri()
        if abs(count - target) < abs(best.num_tri() - target):
            best = candidate
        if _close(count, target):
            break
        low, high = (middle, high) if count > target else (low, middle)
    return best


def _edge_lengths(solid: manifold3d.Manifold) -> npt.NDArray[np.float64]:
    positions, faces = from_manifold(solid)
    return np.asarray(
        np.linalg.norm(positions[faces] - positions[np.roll(faces, 1, axis=1)], axis=2).reshape(-1)
    )


def _median_edge(solid: manifold3d.Manifold) -> float:
    return float(np.median(_edge_lengths(solid)))
