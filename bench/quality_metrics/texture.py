"""Back versus front: is the base colour seen from behind its own, or the front printed through?

Surface samples are splatted orthographically along a depth axis (z: the subject faces +z; x for
the left and right sides, which is how a subject drawn from the side would print through): per
pixel the nearest sample is what one view shows and the farthest what the opposite view shows,
in the same world frame. A back that mirrors the front has the same colour at the same place:
difference ~0 and correlation ~1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetcore.geometry.meshops import face_normals, linear_to_srgb
from assetcore.geometry.model import Mesh

Floats = npt.NDArray[np.float64]
RESOLUTION = 128  # pixels along the longer side of the x-y bounds
SAMPLES = 200_000


@dataclass(frozen=True)
class BackFront:
    difference: float  # mean absolute sRGB difference, 0..1, over pixels both views cover
    correlation: float  # Pearson correlation of the two views' luminance (1: identical pattern)
    pixels: int


def back_front(
    mesh: Mesh, resolution: int = RESOLUTION, samples: int = SAMPLES, seed: int = 0, depth_axis: int = 2
) -> BackFront:
    """Compare the base colour of the nearest and farthest surface along `depth_axis` (2: front
    and back, 0: right and left) at each point of the plane of the other two axes."""
    points, colours = _coloured_samples(mesh, samples, seed)
    plane = points[:, [axis for axis in range(3) if axis != depth_axis]]
    low, high = plane.min(axis=0), plane.max(axis=0)
    size = max(float((high - low).max()), 1e-9) / resolution
    cells = np.minimum(((plane - low) / size).astype(np.int64), resolution - 1)
    pixel = cells[:, 1] * resolution + cells[:, 0]
    order = np.lexsort((points[:, depth_axis], pixel))
    pixel = pixel[order]
    first = np.flatnonzero(np.r_[True, pixel[1:] != pixel[:-1]])
    last = np.r_[first[1:], len(pixel)] - 1
    back, front = colours[order[first]], colours[order[last]]
    distinct = first != last
    back, front = back[distinct], front[distinct]
    luma = np.array([0.2126, 0.7152, 0.0722])
    correlation = float(np.corrcoef(front @ luma, back @ luma)[0, 1]) if len(front) > 1 else float("nan")
    return BackFront(float(np.abs(front - back).mean()), correlation, int(distinct.sum()))


def _coloured_samples(mesh: Mesh, count: int, seed: int) -> tuple[Floats, Floats]:
    """Area-weighted surface points and their sRGB base colour (0..1)."""
    faces = mesh.faces.astype(np.int64)
    area = np.linalg.norm(face_normals(mesh.positions, faces), axis=1)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(faces), size=count, p=area / area.sum())
    u, v = rng.random((2, count))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    bary = np.stack([1 - u - v, u, v], axis=1)[:, :, None]
    corners = faces[chosen]
    points = (mesh.positions.astype(np.float64)[corners] * bary).sum(axis=1)
    if mesh.texture_png is not None and mesh.uvs is not None:
        uv = (mesh.uvs.astype(np.float64)[corners] * bary).sum(axis=1)
        image = np.asarray(Image.open(io.BytesIO(mesh.texture_png)).convert("RGB"), dtype=np.float64) / 255
        height, width = image.shape[:2]
        x = np.clip((uv[:, 0] * width).astype(np.int64), 0, width - 1)
        y = np.clip((uv[:, 1] * height).astype(np.int64), 0, height - 1)
        return points, image[y, x]
    if mesh.colors is not None:
        linear = (mesh.colors.astype(np.float64)[corners, :3] * bary).sum(axis=1)
        return points, np.asarray(linear_to_srgb(linear), dtype=np.float64)
    raise ValueError("mesh: no base-colour texture with UVs and no vertex colours to compare")
