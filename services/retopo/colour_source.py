"""The input mesh's surface colour, looked up at arbitrary points near that surface.

Each point takes the colour at its closest point on the input mesh: the base-colour texture
sampled at the interpolated UV when the input has one, else the interpolated vertex
colours, else a neutral clay. Results are sRGB in 0..1.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh
from assetcore.worker.backend import ErrorCode, StepError

CLAY_SRGB = (0.8, 0.8, 0.78)
CANDIDATES = 1  # the nearest centroid's triangle: exact enough on a dense source, twice as fast as 2


class ColourSource:
    def __init__(self, mesh: Mesh) -> None:
        self._index = meshops.SurfaceIndex(mesh.positions, mesh.faces, candidates=CANDIDATES)
        self._faces = np.asarray(mesh.faces, np.int64)
        self._texture = (
            decoded_texture(mesh.texture_png, "base-colour")
            if mesh.texture_png and mesh.uvs is not None
            else None
        )
        self._uvs = None if mesh.uvs is None else np.asarray(mesh.uvs, np.float64)
        self._colours = None if mesh.colors is None else np.asarray(mesh.colors, np.float64)[:, :3]

    @property
    def kind(self) -> str:
        if self._texture is not None:
            return "texture"
        return "vertex colours" if self._colours is not None else "none"

    def colours(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """sRGB (N, 3) at the points' closest source surface points."""
        if self._texture is None and self._colours is None:
            return np.tile(CLAY_SRGB, (len(points), 1))
        return self.colours_at(self.closest(points))

    def closest(self, points: npt.NDArray[np.float64]) -> meshops.SurfaceHits:
        """The points' closest source surface points (shared with other lookups on the same mesh)."""
        return self._index.closest(points)

    def colours_at(self, hits: meshops.SurfaceHits) -> npt.NDArray[np.float64]:
        """sRGB (N, 3) at source surface points."""
        if self._texture is None and self._colours is None:
            return np.tile(CLAY_SRGB, (len(hits.faces), 1))
        corners = self._faces[hits.faces]
        if self._texture is not None and self._uvs is not None:
            uv = np.einsum("ij,ijk->ik", hits.barycentric, self._uvs[corners])
            return sample_texture(self._texture, uv)
        assert self._colours is not None
        linear = np.einsum("ij,ijk->ik", hits.barycentric, self._colours[corners])
        return meshops.linear_to_srgb(linear)


def decoded_texture(png: bytes, what: str) -> npt.NDArray[np.float64]:
    """An input texture as (H, W, 3) floats in 0..1; INVALID_INPUT naming `what` if it does not decode."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGB"), np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise StepError(
            ErrorCode.INVALID_INPUT, f"mesh: its {what} texture does not decode ({exc})"
        ) from None


def sample_texture(texture: npt.NDArray[np.float64], uv: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Bilinear lookup, repeating (glTF's default wrap), (0, 0) at the top-left corner."""
    height, width, _ = texture.shape
    rows = np.mod(uv[:, 1], 1.0) * height - 0.5
    cols = np.mod(uv[:, 0], 1.0) * width - 0.5
    return np.stack(
        [ndimage.map_coordinates(texture[..., c], [rows, cols], order=1, mode="grid-wrap") for c in range(3)],
        axis=1,
    )
