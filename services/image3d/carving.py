"""Carving a closed surface from the job's multi-view images, of either kind.

Orthographic views with a known framing (the procedural tti's) carve a visual hull on their own
(`hull`); the multiview step's perspective views have no known framing and carve the concept's
inflated solid instead (`perspective`). Either way the result is one closed, smoothed surface.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.multiview import Multiview
from services.image3d.hull import visual_hull
from services.image3d.perspective import carve_perspective
from services.image3d.volume import InflationField, ViewMesh


@dataclass(frozen=True)
class Carving:
    mesh: ViewMesh  # orthographic: the views' frame and units; perspective: the solid's view space
    notes: tuple[str, ...]  # views left out, and why


def carve(
    views: Multiview, resolution: int, *, box_like: bool = False, solid: InflationField | None = None
) -> Carving:
    """Orthographic views: their visual hull, `resolution` voxels along its longest side, rounded
    (box-like props only at the edges). Perspective views: `solid` (the concept's inflated
    field, required for them) carved by the views."""
    if views.extent is not None:
        return Carving(visual_hull(views, resolution, box_like=box_like), ())
    if solid is None:
        raise ValueError("carving perspective views needs the concept's inflated solid")
    mesh, notes = carve_perspective(views, solid)
    return Carving(mesh, notes)
