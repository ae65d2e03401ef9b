"""Whether a mesh can be rigged: it must have faces, finite positions and enclose a volume."""

from __future__ import annotations

import numpy as np

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh
from assetcore.worker.backend import ErrorCode, StepError

MAX_OPEN_EDGE_SHARE = 0.02  # small holes still voxelize by ray parity; more means no inside


def check_riggable(mesh: Mesh, notes: list[str]) -> None:
    """Raise EMPTY_MESH / INVALID_INPUT / NON_MANIFOLD for meshes no skeleton can be fitted to."""
    if mesh.face_count == 0 or mesh.vertex_count == 0:
        raise StepError(ErrorCode.EMPTY_MESH, "mesh: the mesh has no faces")
    if not np.isfinite(mesh.positions).all():
        raise StepError(ErrorCode.INVALID_INPUT, "mesh: vertex positions contain NaN or infinity")
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    if len(faces) == 0 or float(np.ptp(positions, axis=0).min()) <= 0.0:
        raise StepError(ErrorCode.EMPTY_MESH, "mesh: the mesh is flat or degenerate and encloses no volume")
    edges = np.sort(meshops.directed_edges(faces), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    open_share = float(np.mean(uses != 2))
    if open_share > MAX_OPEN_EDGE_SHARE:
        raise StepError(
            ErrorCode.NON_MANIFOLD,
            f"mesh: {open_share:.0%} of its edges are open or shared by more than two faces; "
            "the surface does not enclose a solid to fit a skeleton inside",
        )
    if open_share > 0:
        notes.append(f"rig: the mesh is not quite closed ({open_share:.2%} of edges open); rigged anyway")
    count, _ = meshops.components(faces, len(positions))
    if count > 1:
        notes.append(
            f"rig: the mesh has {count} separate parts; parts away from the body follow the nearest bone"
        )
