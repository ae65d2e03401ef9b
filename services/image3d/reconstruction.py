"""What the ML image3d backends share after their surface is extracted: colour the vertices
from the concept image (and the multiview step's views, when the job has them), move into
model space at the subject's real size, and write the "mesh" output."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.geometry.gltf import write_glb
from assetcore.geometry.model import Model
from assetcore.geometry.preview import render_mesh_preview
from assetcore.multiview import Multiview, decode_multiview_png
from assetcore.worker.backend import OutputFile, Progress, StepOutput, StepRequest
from services.image3d.backends.inflate import GLB_MEDIA_TYPE, to_model_space
from services.image3d.concept import ConceptImage
from services.image3d.projection import colour_vertices
from services.image3d.sizing import subject_shape


def request_views(request: StepRequest) -> Multiview | None:
    """The job's six views (the multiview step's "views"), or None in the plain pipelines."""
    views = request.inputs.get("views")
    return None if views is None else decode_multiview_png(views.data)


def mesh_output(
    positions: npt.NDArray[np.float64],
    faces: npt.NDArray[np.int64],
    image: ConceptImage,
    views: Multiview | None,
    progress: Progress,
    metrics: Mapping[str, float],
) -> StepOutput:
    """The step's output for a closed surface in view space (+X image right, +Y up, +Z towards
    the concept camera), with the backend's own `metrics` beside the mesh's."""
    progress(0.85, "colouring" + (" from the concept image and six views" if views else ""))
    normals = meshops.vertex_normals(positions, faces)
    colours = colour_vertices(positions, normals, image, views)
    mesh = to_model_space(positions, faces, colours, image, subject_shape(image.category, image.subject))
    progress(0.9, "writing the mesh")
    glb = write_glb(Model(mesh=mesh))
    extent = mesh.positions.max(axis=0) - mesh.positions.min(axis=0)
    notes = list(image.notes)
    if views is None:
        notes.append("no multiview views: back and sides are coloured from the concept image")
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
