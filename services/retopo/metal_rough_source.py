"""The input mesh's metallic and roughness at its surface points, for the metallic-roughness bake.

Looked up exactly as colours are (services.retopo.colour_source), at the closest points that
ColourSource.closest found: the input's metallicRoughness texture sampled at the interpolated
UV when it has one (B metallic, G roughness), else its per-vertex values (Mesh.metal_rough,
what image3d gives the concept's parts) interpolated barycentrically. An input with neither
(ML image3d backends, uploaded meshes) has no materials: its LODs get no map and keep the GLB
writer's default factors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh
from services.retopo.colour_source import decoded_texture, sample_texture


class MetalRoughSource:
    def __init__(self, mesh: Mesh) -> None:
        self._faces = np.asarray(mesh.faces, np.int64)
        self._uvs = None if mesh.uvs is None else np.asarray(mesh.uvs, np.float64)
        self._texture = (
            decoded_texture(mesh.metal_rough_png, "metallic-roughness")
            if mesh.metal_rough_png and self._uvs is not None
            else None
        )
        self._values = None if mesh.metal_rough is None else np.asarray(mesh.metal_rough, np.float64)

    @property
    def kind(self) -> str:
        if self._texture is not None:
            return "metallic-roughness texture"
        return "per-vertex materials" if self._values is not None else "none"

    def values_at(self, hits: meshops.SurfaceHits) -> npt.NDArray[np.float64] | None:
        """(N, 2) metallic and roughness in 0..1 at source surface points; None without materials."""
        corners = self._faces[hits.faces]
        if self._texture is not None and self._uvs is not None:
            uv = np.einsum("ij,ijk->ik", hits.barycentric, self._uvs[corners])
            values = sample_texture(self._texture, uv)[:, [2, 1]]
        elif self._values is not None:
            values = np.einsum("ij,ijk->ik", hits.barycentric, self._values[corners])
        else:
            return None
        return np.clip(values, 0.0, 1.0)
