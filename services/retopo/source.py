"""The retopo input as a repaired (and, where asked or detected, symmetric) solid."""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Mesh
from assetcore.worker.backend import ErrorCode, StepError
from services.retopo.options import Symmetry
from services.retopo.repair import closed_solid
from services.retopo.symmetry import is_near_symmetric, mirrored_whole, positive_half


@dataclass(frozen=True)
class SourceSolid:
    mesh: Mesh  # the input as read, colours and texture included
    solid: manifold3d.Manifold  # closed and outward-wound; symmetric when `half` is set
    half: manifold3d.Manifold | None  # the x >= 0 half it was mirrored from
    notes: tuple[str, ...]

    @property
    def symmetric(self) -> bool:
        return self.half is not None


def read_source(glb: bytes, symmetry: Symmetry) -> SourceSolid:
    """Decode, repair and symmetrise. EMPTY_MESH, NON_MANIFOLD or INVALID_INPUT on bad input."""
    mesh = read_glb(glb).mesh
    if mesh.face_count == 0:
        raise StepError(ErrorCode.EMPTY_MESH, "mesh: the input mesh has no faces")
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    if len(faces) == 0:
        raise StepError(ErrorCode.EMPTY_MESH, "mesh: every face of the input mesh is degenerate")
    solid, rebuilt = closed_solid(positions, faces)
    notes = ["the input was not a closed manifold: rebuilt it through a voxel grid"] if rebuilt else []
    half = None
    if symmetry == "on" or (symmetry == "auto" and is_near_symmetric(solid)):
        half = positive_half(solid)
        if half.is_empty():
            raise StepError(ErrorCode.INVALID_INPUT, "mesh: nothing lies at x >= 0 to mirror (symmetry on)")
        solid = mirrored_whole(half)
        notes.append("symmetric about x = 0: the x >= 0 half is mirrored")
    return SourceSolid(mesh=mesh, solid=solid, half=half, notes=tuple(notes))
