"""Polygon generators in figure units (x right, y up); every shape is an (N, 2) float array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Polygon = npt.NDArray[np.float64]
Point = tuple[float, float]

_SEGMENTS = 48  # vertices of a full circle: smooth at 1024 px, cheap to rasterise


def ellipse(
    cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, *, arc: Point = (0.0, 360.0)
) -> Polygon:
    """An ellipse (or its arc from `arc[0]` to `arc[1]` degrees, closed by the chord), rotated by `angle`."""
    start, stop = np.radians(arc[0]), np.radians(arc[1])
    count = max(8, int(_SEGMENTS * (stop - start) / (2 * np.pi)) + 1)
    t = np.linspace(start, stop, count, endpoint=stop - start < 2 * np.pi)
    points = np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)
    return rotate(points, angle) + np.array([cx, cy], dtype=np.float64)


def circle(cx: float, cy: float, r: float) -> Polygon:
    return ellipse(cx, cy, r, r)


def box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


def rounded_box(x0: float, y0: float, x1: float, y1: float, radius: float) -> Polygon:
    r = min(radius, (x1 - x0) / 2, (y1 - y0) / 2)
    corners = (
        (x1 - r, y0 + r, 270.0),
        (x1 - r, y1 - r, 0.0),
        (x0 + r, y1 - r, 90.0),
        (x0 + r, y0 + r, 180.0),
    )
    return np.concatenate([ellipse(cx, cy, r, r, arc=(a, a + 90.0)) for cx, cy, a in corners])


def capsule(start: Point, end: Point, r_start: float, r_end: float | None = None) -> Polygon:
    """A limb: the hull of two circles (tapered when the radii differ)."""
    r_end = r_start if r_end is None else r_end
    (x0, y0), (x1, y1) = start, end
    heading = np.degrees(np.arctan2(y1 - y0, x1 - x0))
    end_cap = ellipse(np.hypot(x1 - x0, y1 - y0), 0.0, r_end, r_end, arc=(-90.0, 90.0))
    start_cap = ellipse(0.0, 0.0, r_start, r_start, arc=(90.0, 270.0))
    return rotate(np.concatenate([end_cap, start_cap]), heading) + np.array([x0, y0], dtype=np.float64)


def polygon(*points: Point) -> Polygon:
    return np.array(points, dtype=np.float64)


def rotate(points: Polygon, degrees: float) -> Polygon:
    if degrees == 0.0:
        return points
    a = np.radians(degrees)
    rotation = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]], dtype=np.float64)
    return points @ rotation


def mirror_x(points: Polygon) -> Polygon:
    """The shape reflected across x = 0 (the other side of a symmetric figure)."""
    return points * (-1.0, 1.0)
