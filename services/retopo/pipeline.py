"""The retopo path every backend shares; a backend only supplies the LOD0 remesher.

input GLB -> repaired (symmetric) solid -> LOD0 from the backend's remesher -> LOD1 and
LOD2 (50 % and 25 % of the face target), each simplified from the previous level's solid
where there is one (else from the source) -> for every LOD: smooth normals, its own xatlas
unwrap and its own bake of the input's colours, normals and materials (the textures halve per
LOD) -> GLB.
Each LOD gets its own UV layout and bake rather than sharing LOD0's: simplifying with UV
seams held in place would limit how far the LODs can simplify, and their bakes are small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.geometry.gltf import write_glb
from assetcore.geometry.gltf_writer import ROUGHNESS
from assetcore.geometry.model import Mesh, Model
from assetcore.geometry.preview import render_mesh_preview
from assetcore.worker.backend import OutputFile, Progress, StepOutput, StepRequest
from services.retopo.bake import bake_maps
from services.retopo.colour_source import ColourSource
from services.retopo.metal_rough_source import MetalRoughSource
from services.retopo.normal_map import NormalSource
from services.retopo.options import LOD_LEVELS, RetopoOptions
from services.retopo.repair import from_manifold
from services.retopo.simplify import simplified, simplified_symmetric
from services.retopo.source import SourceSolid, read_source
from services.retopo.unwrap import unwrap

GLB_MEDIA_TYPE = "model/gltf-binary"
MIN_TEXTURE_SIZE = 128
TOUCH_SEPARATION = 1e-5  # of the largest extent: where a simplified solid touches itself


@dataclass(frozen=True)
class LowPoly:
    positions: npt.NDArray[np.float64]
    triangles: npt.NDArray[np.int64]  # polygons arrive split into triangles
    polygons: int | None = None  # the face count before that split; None: the triangles are the faces
    quads: int = 0  # how many of those polygons were quads
    basis: SourceSolid | None = None  # the solid it was cut from: coarser LODs simplify it further

    @property
    def faces(self) -> int:
        return len(self.triangles) if self.polygons is None else self.polygons


Remesher = Callable[[SourceSolid, int, Progress], LowPoly]


def decimated(source: SourceSolid, target: int) -> LowPoly:
    """The source simplified to about `target` triangles, mirror-symmetric when it is."""
    if source.half is not None:
        solid, half = simplified_symmetric(source.half, target)
        basis = replace(source, solid=solid, half=half)
    else:
        solid = simplified(source.solid, target)
        basis = replace(source, solid=solid)
    positions, triangles = from_manifold(solid)
    extent = float(np.ptp(positions, axis=0).max())
    positions = meshops.separate_coincident(positions, triangles, TOUCH_SEPARATION * extent)
    return LowPoly(positions, triangles, basis=basis)


def retopologize(request: StepRequest, remesher: Remesher, progress: Progress) -> StepOutput:
    options = request.options_as(RetopoOptions)
    source = read_source(request.inputs["mesh"].data, options.symmetry)
    progress(0.1, "remeshing LOD0")
    colours = ColourSource(source.mesh)
    shading = NormalSource(source.mesh)
    materials = MetalRoughSource(source.mesh)
    files: list[OutputFile] = []
    metrics: dict[str, float] = {
        "input_faces": float(source.mesh.face_count),
        "symmetric": float(source.symmetric),
        "face_target": float(options.faces),
    }
    preview = None
    basis = source
    for level, (name, share) in enumerate(LOD_LEVELS):
        target = max(round(options.faces * share), 4)
        lowpoly = remesher(source, target, progress) if level == 0 else decimated(basis, target)
        basis = lowpoly.basis or source
        progress(0.3 + 0.2 * level, f"unwrapping and baking {name}")
        texture_size = max(options.texture_size >> level, MIN_TEXTURE_SIZE)
        mesh = textured_mesh(
            lowpoly,
            colours,
            shading,
            materials,
            texture_size,
            f"{source.mesh.name}_{name}" if level else source.mesh.name,
        )
        files.append(OutputFile(name, GLB_MEDIA_TYPE, write_glb(Model(mesh=mesh))))
        prefix = "" if level == 0 else f"{name}_"
        metrics |= {
            f"{prefix}faces": float(lowpoly.faces),
            f"{prefix}triangles": float(len(lowpoly.triangles)),
            f"{prefix}quads": float(lowpoly.quads),
            f"{prefix}vertices": float(mesh.vertex_count),
            f"{prefix}texture_size": float(texture_size),
        }
        if level == 0:
            preview = render_mesh_preview(mesh)
    notes = [*source.notes, f"colours baked from the input's {colours.kind}", _materials_note(materials)]
    return StepOutput(files=files, preview_png=preview, notes=notes, metrics=metrics)


def _materials_note(materials: MetalRoughSource) -> str:
    if materials.kind == "none":
        return f"the input has no materials: no metallic-roughness map (metallic 0, roughness {ROUGHNESS})"
    return f"metallic-roughness baked from the input's {materials.kind}"


def textured_mesh(
    lowpoly: LowPoly,
    colours: ColourSource,
    shading: NormalSource,
    materials: MetalRoughSource,
    texture_size: int,
    name: str,
) -> Mesh:
    """Smooth normals, a UV layout, tangents and baked base-colour, normal and (when the input has
    materials) metallic-roughness maps for a low-poly mesh."""
    layout = unwrap(lowpoly.positions, lowpoly.triangles, texture_size)
    positions = lowpoly.positions[layout.source_vertex]
    normals = meshops.vertex_normals(lowpoly.positions, lowpoly.triangles)[layout.source_vertex]
    baked = bake_maps(positions, normals, layout.faces, layout.uvs, colours, shading, texture_size, materials)
    return Mesh(
        positions=positions.astype(np.float32),
        faces=layout.faces.astype(np.uint32),
        normals=normals,
        uvs=layout.uvs,
        texture_png=baked.colour_png,
        name=name,
        quad_count=lowpoly.quads,  # unwrap keeps the face order, so the quad pairs stay
        tangents=baked.tangents,
        normal_png=baked.normal_png,
        metal_rough_png=baked.metal_rough_png,
    )
