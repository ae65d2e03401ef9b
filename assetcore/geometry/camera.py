"""Cameras orbiting a subject, in the concept camera's frame.

+X is the concept image's right, +Y up, +Z towards the concept camera (the concept image is
an orthographic view along -Z). A camera at azimuth a and elevation e sits in direction
(sin a cos e, sin e, cos a cos e) from the subject: azimuth 0 is the concept camera, and it
increases towards +X, the subject's left in a front view. Straight above (elevation 90) the
image's right stays +X and its up is -Z (the subject's back at the top of the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Camera:
    """A view direction (unit vector from the subject to the camera) and its projection."""

    direction: FloatArray
    fov_deg: float | None  # None: orthographic

    @classmethod
    def orbit(cls, azimuth_deg: float, elevation_deg: float, fov_deg: float | None) -> Camera:
        a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
        direction = np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])
        return cls(direction, fov_deg)

    def axes(self) -> tuple[FloatArray, FloatArray]:
        """The image's right and up as unit vectors."""
        right = np.cross(np.array([0.0, 1.0, 0.0]), self.direction)
        if np.linalg.norm(right) < 1e-9:  # straight above or below: keep +X as the image's right
            right = np.array([1.0, 0.0, 0.0])
        right /= np.linalg.norm(right)
        return right, np.cross(self.direction, right)

    def view_coordinates(self, positions: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(right, up, depth towards the camera) of each position, in the frame's units."""
        right, up = self.axes()
        return positions @ right, positions @ up, positions @ self.direction

    def image_plane(self, positions: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(right, up, depth towards the camera) of each position about the positions' bounding-box
        centre; right/up are unscaled (an unknown framing is fitted to the image afterwards)."""
        centre = (positions.min(axis=0) + positions.max(axis=0)) / 2.0
        relative = positions - centre
        x, y, depth = self.view_coordinates(relative)
        if self.fov_deg is None:
            return x, y, depth
        radius = max(float(np.linalg.norm(relative, axis=1).max()), 1e-12)
        distance = radius / np.sin(np.radians(self.fov_deg) / 2.0)
        return x / (distance - depth), y / (distance - depth), depth

    def tile_pixels(
        self, positions: FloatArray, extent: float, tile: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(row, column, depth) in a `tile`-pixel square image of a known orthographic framing: the
        square [-extent, extent]^2 of the image plane through the frame's origin. Pixel centres
        sit at +0.5; rows grow downwards."""
        x, y, depth = self.view_coordinates(positions)
        column = (x / extent + 1.0) * 0.5 * tile
        row = (1.0 - y / extent) * 0.5 * tile
        return row, column, depth

    def perspective_pixels(
        self, positions: FloatArray, distance: float, tile: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(row, column, depth) in a `tile`-pixel square perspective image of a known framing: the
        camera `distance` from the frame's origin, looking at it (the origin at the tile's
        centre), the tile spanning the field of view. Pixel centres sit at +0.5; rows grow down."""
        x, y, depth = self.view_coordinates(positions)
        scale = self.focal_px(tile) / (distance - depth)
        return tile / 2.0 - y * scale, tile / 2.0 + x * scale, depth

    def perspective_points(
        self, row: FloatArray, column: FloatArray, depth: FloatArray, distance: float, tile: int
    ) -> FloatArray:
        """The positions at `depth` (towards the camera) that `perspective_pixels` maps to (row,
        column): its inverse, for casting rays."""
        right, up = self.axes()
        scale = (distance - depth) / self.focal_px(tile)
        x, y = (column - tile / 2.0) * scale, (tile / 2.0 - row) * scale
        return np.asarray(x[..., None] * right + y[..., None] * up + depth[..., None] * self.direction)

    def focal_px(self, tile: int) -> float:
        """The focal length in pixels of a perspective camera whose field of view spans `tile`."""
        if self.fov_deg is None:
            raise ValueError("an orthographic camera has no focal length")
        return tile / 2.0 / float(np.tan(np.radians(self.fov_deg) / 2.0))
