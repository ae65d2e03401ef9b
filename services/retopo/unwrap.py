"""UV unwrap: xatlas segments the surface into charts and flattens them; its tiny leftover
charts are merged into their neighbours (services.retopo.chart_merging: LOD0 islands 113-208
-> 32-81 on the acceptance assets); our packer (services.retopo.packing) packs the charts
into one square texture by their shapes, which fills the square better than xatlas's own
packing (LOD0 coverage 47-52 % -> 54-64 % merged, 58-65 % unmerged: the tiny charts filled
the holes between the big ones).

xatlas splits vertices along chart seams; `source_vertex` maps each new vertex back to the
input vertex, so per-vertex data (normals) carries over. UVs are in 0..1 with (0, 0) the
texture's top-left corner (glTF), u along columns and v along rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xatlas

from assetcore.geometry import meshops
from services.retopo.chart_merging import merge_small_charts
from services.retopo.packing import pack_charts

# Charts may not grow past this share of the surface: unbounded, xatlas spends 5-10x longer
# growing charts (7.6 s against 0.8 s for 15k faces on 2 cores) for a few % better utilisation.
MAX_CHART_SHARE = 1.0 / 32.0
# xatlas's default (0.01) lets charts grow into ragged shapes that pack with wide gaps; rounder
# charts fill the square better (LOD0 coverage 40-48 % -> 51-52 %, fewer islands on organic meshes).
ROUNDNESS_WEIGHT = 1.0
# Padding around each chart, so mip-maps do not mix neighbouring charts. The bake fills every
# uncovered texel with its nearest chart's colour, so the gap only has to last the first mip levels.
PADDING_TEXELS_PER_1024 = 2
# xatlas always packs its charts too; at this atlas size that costs little, and only the
# charts' shapes are kept.
XATLAS_RESOLUTION = 64


@dataclass(frozen=True)
class Unwrapped:
    source_vertex: npt.NDArray[np.int64]  # (V',) input vertex of each output vertex
    faces: npt.NDArray[np.int64]  # (F, 3) into the output vertices, same order as the input faces
    uvs: npt.NDArray[np.float32]  # (V', 2)


def unwrap(positions: npt.NDArray[np.float64], faces: npt.NDArray[np.int64], texture_size: int) -> Unwrapped:
    atlas = xatlas.Atlas()
    atlas.add_mesh(positions.astype(np.float32), faces.astype(np.uint32))
    pack = xatlas.PackOptions()
    pack.resolution = XATLAS_RESOLUTION
    charts = xatlas.ChartOptions()
    area = float(np.linalg.norm(meshops.face_normals(positions, faces), axis=1).sum()) / 2.0
    charts.max_chart_area = area * MAX_CHART_SHARE
    charts.roundness_weight = ROUNDNESS_WEIGHT
    atlas.generate(charts, pack)
    source_vertex, new_faces, uvs = atlas[0]
    # xatlas divides u by its atlas's width and v by its height: undo both, so charts keep their shape
    source_vertex, new_faces, chart_uvs = merge_small_charts(
        positions,
        np.asarray(source_vertex, np.int64),
        np.asarray(new_faces, np.int64),
        np.asarray(uvs, np.float64) * [atlas.width, atlas.height],
    )
    padding = max(2, texture_size * PADDING_TEXELS_PER_1024 // 1024)
    packed = pack_charts(chart_uvs, new_faces, texture_size, padding)
    return Unwrapped(
        source_vertex=source_vertex,
        faces=new_faces,
        uvs=np.clip(packed, 0.0, 1.0).astype(np.float32),
    )
