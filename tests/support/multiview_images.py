"""Six views whose colour says where the camera stands, for the texture-projection tests."""

from __future__ import annotations

import numpy as np

from assetcore.geometry.gltf import read_glb
from assetcore.multiview import AZIMUTHS_DEG, ELEVATIONS_DEG, Multiview, View, encode_multiview_png


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
