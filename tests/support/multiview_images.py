"""Views for the texture-projection and reconstruction tests: six perspective views whose colour
says where the camera stands, orthographic views of simple solids as the procedural tti draws
them, and perspective views of them from Zero123++'s cameras."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from assetcore.geometry.camera import Camera
from assetcore.geometry.gltf import read_glb
from assetcore.multiview import (
    AZIMUTHS_DEG,
    ELEVATIONS_DEG,
    FOV_DEG,
    Multiview,
    View,
    encode_multiview_png,
)


def back_green_views(side: int = 64) -> bytes:
    """A "views" PNG: a subject-sized block, green in the views behind the subject, red in front."""
    tiles = []
    for azimuth, elevation in zip(AZIMUTHS_DEG, ELEVATIONS_DEG, strict=True):
        rgba = np.zeros((side, side, 4), np.uint8)
        rgba[side // 8 : side - side // 8, side // 4 : side - side // 4] = (
            (0, 255, 0, 255) if 90 < azimuth < 270 else (255, 0, 0, 255)
        )
        tiles.append(View(azimuth, elevation, rgba))
    return encode_multiview_png(Multiview(tuple(tiles)))


def green_shares(glb: bytes) -> tuple[float, float]:
    """Shares of green vertices among those facing back (-Z) and those facing front (+Z)."""
    mesh = read_glb(glb).mesh
    assert mesh.colors is not None and mesh.normals is not None
    green = mesh.colors[:, 1] > 0.99
    back, front = mesh.normals[:, 2] < -0.7, mesh.normals[:, 2] > 0.7
    return float(green[back].mean()), float(green[front].mean())


ORTHOGRAPHIC_CAMERAS = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (270.0, 0.0), (0.0, 90.0), (0.0, -90.0))
Solid = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.bool_]]  # (..., 3) points -> inside
Paint = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.uint8]]  # (N, 3) surface points -> RGB


def orthographic_views(
    solid: Solid, paint: Paint, extent: float = 1.0, tile: int = 64, samples: int = 96
) -> Multiview:
    """The procedural tti's "orthographic-6" views of a solid in the concept frame: each pixel
    shows the paint of the first point inside the solid along its ray, alpha its coverage."""
    tiles = []
    centres = (np.arange(tile) + 0.5) / tile * 2.0 * extent - extent
    depths = np.linspace(extent, -extent, samples)  # from the camera's side
    for azimuth, elevation in ORTHOGRAPHIC_CAMERAS:
        camera = Camera.orbit(azimuth, elevation, None)
        right, up = camera.axes()
        u, v, t = np.meshgrid(centres, -centres, depths, indexing="xy")
        points = u[..., None] * right + v[..., None] * up + t[..., None] * camera.direction
        tiles.append(View(azimuth, elevation, _shaded(solid, paint, points)))
    return Multiview(tuple(tiles), fov_deg=None, extent=extent, layout="orthographic-6")


def perspective_views(
    solid: Solid, paint: Paint, distance: float = 3.0, radius: float = 1.0, tile: int = 64, samples: int = 96
) -> Multiview:
    """Zero123++'s six views of a solid (within `radius` of the frame's origin) in the concept
    frame, each camera `distance` from the origin looking at it (Camera.perspective_points casts
    the rays): each pixel shows the paint of the first point inside the solid, alpha its coverage."""
    tiles = []
    centres = np.arange(tile) + 0.5
    depths = np.linspace(radius, -radius, samples)  # from the camera's side
    for azimuth, elevation in zip(AZIMUTHS_DEG, ELEVATIONS_DEG, strict=True):
        camera = Camera.orbit(azimuth, elevation, FOV_DEG)
        row, column, depth = np.meshgrid(centres, centres, depths, indexing="ij")
        points = camera.perspective_points(row, column, depth, distance, tile)
        tiles.append(View(azimuth, elevation, _shaded(solid, paint, points)))
    return Multiview(tuple(tiles))


def _shaded(solid: Solid, paint: Paint, points: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """RGBA of (rows, columns, samples, 3) ray points, each ray's samples ordered from the camera."""
    inside = solid(points)
    hit = inside.any(axis=2)
    first = np.argmax(inside, axis=2)
    surface = np.take_along_axis(points, first[..., None, None], axis=2)[:, :, 0]
    rgba = np.zeros((*hit.shape, 4), np.uint8)
    rgba[hit, :3] = paint(surface[hit])
    rgba[hit, 3] = 255
    return rgba


def box(half: tuple[float, float, float]) -> Solid:
    return lambda p: (np.abs(p) <= half).all(axis=-1)


def disc(radius: float, half_thickness: float) -> Solid:
    """A disc facing +Z (a round shield)."""
    return lambda p: (p[..., 0] ** 2 + p[..., 1] ** 2 <= radius**2) & (np.abs(p[..., 2]) <= half_thickness)


def plain(rgb: tuple[int, int, int]) -> Paint:
    return lambda p: np.broadcast_to(np.array(rgb, np.uint8), (len(p), 3))


def front_and_back(front: tuple[int, int, int], back: tuple[int, int, int]) -> Paint:
    """One colour where z >= 0, another behind."""
    return lambda p: np.where(p[:, 2:3] >= 0, np.array(front, np.uint8), np.array(back, np.uint8))


def quadruped() -> Solid:
    """A round body lying along z (a cylinder of radius 0.25 around y = 0.1) on four box legs
    flush with its sides, a box neck and head rising at its front: from the front and the side the
    legs and the head hide that the body is round, so its visual hull's cross-sections are
    squares. The soles are at y = -0.6."""

    def inside(p: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        body = (x**2 + (y - 0.1) ** 2 <= 0.25**2) & (np.abs(z) <= 0.55)
        legs = (np.abs(x) >= 0.12) & (np.abs(x) <= 0.25) & (np.abs(np.abs(z) - 0.4) <= 0.08)
        legs &= (y >= -0.6) & (y <= 0.1)
        head = (np.abs(x) <= 0.25) & (y >= 0.1) & (y <= 0.6) & (z >= 0.45) & (z <= 0.75)
        return np.asarray(body | legs | head)

    return inside
