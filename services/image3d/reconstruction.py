"""What the image3d backends share after their surface is extracted: the job's views and
materials, vertex colours (and materials) from them, the move into model space at the subject's
real size, and the "mesh" output."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.camera import Camera
from assetcore.geometry.gltf import write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.geometry.preview import render_mesh_preview
from assetcore.multiview import Multiview, decode_multiview_png
from assetcore.worker.backend import ErrorCode, OutputFile, Progress, StepError, StepOutput, StepRequest
from services.image3d.concept import ConceptImage
from services.image3d.projection import blend, blend_weights, colour_vertices, view_sources
from services.image3d.sizing import SubjectShape, subject_shape

GLB_MEDIA_TYPE = "model/gltf-binary"
# Rows: model X, Y, Z in terms of view space (u right, v up, n towards the viewer).
FRONT_TO_MODEL = np.eye(3)
SIDE_TO_MODEL = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # image right -> +Z
HALF_TURN = np.diag([-1.0, 1.0, -1.0])  # about +Y: for side views facing image left


def request_views(request: StepRequest) -> Multiview | None:
    """The job's six views ("views": the multiview step's, or the procedural tti's), or None."""
    views = request.inputs.get("views")
    return None if views is None else decode_multiview_png(views.data)


def request_materials(request: StepRequest, views: Multiview | None) -> Multiview | None:
    """The job's "materials" tiles, which must share the views' cameras; None without them."""
    materials = request.inputs.get("materials")
    if materials is None or views is None:
        return None
    decoded = decode_multiview_png(materials.data)
    if _cameras(decoded) != _cameras(views):
        raise StepError(ErrorCode.INVALID_INPUT, "materials: its cameras are not the views' cameras")
    return decoded


def _cameras(views: Multiview) -> tuple[object, ...]:
    angles = tuple((v.azimuth_deg, v.elevation_deg) for v in views.views)
    return (angles, views.fov_deg, views.extent, views.tile)


def framed_values(
    positions: npt.ArrayLike,
    normals: npt.ArrayLike,
    views: Multiview,
    materials: Multiview | None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
    """Linear RGBA (V, 4) from the views' albedo and, with materials, (V, 2) metallic and roughness,
    for vertices in the views' own frame (orthographic views with a known extent)."""
    colour_sources = view_sources(views, slice(0, 3), framed=True, linear=True)
    weights = blend_weights(positions, normals, colour_sources)
    rgb = blend(positions, colour_sources, weights)
    colours = np.column_stack([rgb, np.ones(len(rgb), np.float32)])
    if materials is None:
        return colours, None
    # glTF metallicRoughness: G roughness, B metallic; the same cameras and mattes, the same weights.
    metal_rough = blend(positions, view_sources(materials, slice(1, 3), framed=True), weights)[:, ::-1]
    return colours, np.ascontiguousarray(np.clip(metal_rough, 0.0, 1.0))


def concept_camera(image: ConceptImage, views: Multiview) -> Camera:
    """The level view that shows what the concept image shows (their mattes overlap most; the
    first on a tie): the procedural drawer frames a side-view quadruped's views with its head
    along +Z, so its concept image is the view from the side, not from azimuth 0."""
    matte = Image.fromarray(image.alpha.astype(np.float32), mode="F").resize(
        (views.tile, views.tile), Image.Resampling.BOX
    )
    concept = np.asarray(matte) >= 0.5
    best, best_overlap = 0, -1.0
    for i, view in enumerate(views.views):
        if view.elevation_deg != 0.0:
            continue
        seen = view.rgba[..., 3] >= 128
        overlap = float((seen & concept).sum()) / max(float((seen | concept).sum()), 1.0)
        if overlap > best_overlap + 1e-3:
            best, best_overlap = i, overlap
    return views.camera(best)


def into_concept_frame(positions: npt.NDArray[np.float64], camera: Camera) -> npt.NDArray[np.float64]:
    """Positions in the views' frame to the frame of `camera` (+X its image right, +Z towards it)."""
    return np.column_stack(camera.view_coordinates(positions))


def to_model_space(
    view_positions: npt.NDArray[np.float64],
    faces: npt.NDArray[np.int64],
    colours: npt.NDArray[np.float32],
    image: ConceptImage,
    shape: SubjectShape,
    metal_rough: npt.NDArray[np.float32] | None = None,
) -> Mesh:
    """Rotate view space into model axes, scale to metres, stand the subject on y = 0."""
    extent = view_positions.max(axis=0) - view_positions.min(axis=0)
    size = extent[1] if shape.extent == "height" else max(extent[0], extent[1])
    rotation = FRONT_TO_MODEL if image.view == "front" else SIDE_TO_MODEL
    if image.view == "side" and not image.facing_right:
        rotation = HALF_TURN @ rotation
    positions = (view_positions @ rotation.T) * (shape.metres / size)
    positions[:, 1] -= positions[:, 1].min()
    return Mesh(
        positions=positions.astype(np.float32),
        faces=faces.astype(np.uint32),
        normals=meshops.vertex_normals(positions, faces),
        colors=colours,
        name=image.subject,
        metal_rough=metal_rough,
    )


def step_output(mesh: Mesh, notes: list[str], metrics: Mapping[str, float]) -> StepOutput:
    """The step's output for a finished model-space mesh, with the backend's own `metrics`
    beside the mesh's."""
    glb = write_glb(Model(mesh=mesh))
    extent = mesh.positions.max(axis=0) - mesh.positions.min(axis=0)
    return StepOutput(
        files=[OutputFile("mesh", GLB_MEDIA_TYPE, glb)],
        preview_png=render_mesh_preview(mesh),
        notes=notes,
        metrics={
            "faces": float(mesh.face_count),
            "vertices": float(mesh.vertex_count),
            **metrics,
            "width_m": float(extent[0]),
            "height_m": float(extent[1]),
            "depth_m": float(extent[2]),
        },
    )


def mesh_output(
    positions: npt.NDArray[np.float64],
    faces: npt.NDArray[np.int64],
    image: ConceptImage,
    views: Multiview | None,
    progress: Progress,
    metrics: Mapping[str, float],
) -> StepOutput:
    """The ML backends' output for a closed surface in view space (+X image right, +Y up, +Z
    towards the concept camera) at an unknown scale: coloured by fitting the images to it."""
    progress(0.85, "colouring" + (" from the concept image and six views" if views else ""))
    normals = meshops.vertex_normals(positions, faces)
    colours = colour_vertices(positions, normals, image, views)
    mesh = to_model_space(positions, faces, colours, image, subject_shape(image.category, image.subject))
    progress(0.9, "writing the mesh")
    notes = list(image.notes)
    if views is None:
        notes.append("no multiview views: back and sides are coloured from the concept image")
    return step_output(mesh, notes, metrics)
