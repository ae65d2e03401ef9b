"""The `inflate` backend: silhouette-to-volume reconstruction, no model weights.

With orthographic views of a known framing (the procedural tti's "views"), the surface is
carved from all of them (`hull`) and coloured from their albedo, with the "materials" tiles
projected the same way. Otherwise the concept image's matte is inflated: a smooth inflation
profile (a Poisson potential, see `silhouette`) mirrored front and back -> marching cubes ->
one closed component, coloured by projecting the image, or from the multiview step's
perspective views where the job has them (their framing is fitted, so they colour but do not
carve). Either way the result is scaled to the subject's real size.
Front views map image right to +X and up to +Y (inflated along Z); side views (quadrupeds)
map the direction the head points to +Z and up to +Y (inflated along X).
"""

from __future__ import annotations

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh
from assetcore.multiview import Multiview
from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.image3d.colouring import project_colours
from services.image3d.concept import ConceptImage, read_concept_image
from services.image3d.hull import carve
from services.image3d.options import Image3dOptions
from services.image3d.projection import colour_vertices
from services.image3d.reconstruction import (
    concept_camera,
    framed_values,
    into_concept_frame,
    request_materials,
    request_views,
    step_output,
    to_model_space,
)
from services.image3d.silhouette import fit_grid
from services.image3d.sizing import SubjectShape, subject_shape
from services.image3d.volume import inflate


class InflateBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("inflate", "2", ("vertex_colors", "watertight"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        options = request.options_as(Image3dOptions)
        image = read_concept_image(request.inputs["image"].data, prompt_text(request))
        views = request_views(request)
        shape = subject_shape(image.category, image.subject)
        notes = list(image.notes)
        if views is not None and views.extent is not None:
            progress(0.1, f"carving a {image.category} ({image.subject}) from its {len(views.views)} views")
            mesh = carved_mesh(image, views, request_materials(request, views), shape, options.resolution)
            notes.append(
                f"carved from the {len(views.views)} orthographic views and coloured from their albedo"
            )
        else:
            progress(0.1, f"reconstructing a {image.category} ({image.subject}) from its {image.view} view")
            mesh = inflated_mesh(image, views, shape, options, progress)
        progress(0.8, "writing the mesh")
        return step_output(mesh, notes, {"resolution": float(options.resolution)})


def carved_mesh(
    image: ConceptImage, views: Multiview, materials: Multiview | None, shape: SubjectShape, resolution: int
) -> Mesh:
    """The visual hull of orthographic `views`, rounded, coloured (and given materials) from them."""
    view_mesh = carve(views, resolution, box_like=shape.flat_depth is not None)
    normals = meshops.vertex_normals(view_mesh.positions, view_mesh.faces)
    colours, metal_rough = framed_values(view_mesh.positions, normals, views, materials)
    positions = into_concept_frame(view_mesh.positions, concept_camera(image, views))
    return to_model_space(positions, view_mesh.faces, colours, image, shape, metal_rough)


def inflated_mesh(
    image: ConceptImage,
    views: Multiview | None,
    shape: SubjectShape,
    options: Image3dOptions,
    progress: Progress,
) -> Mesh:
    """The concept's silhouette inflated; coloured from the concept image, and from perspective
    `views` (fitted to the mesh) when there are any."""
    grid = fit_grid(image.alpha, options.resolution)
    view_mesh = inflate(
        grid,
        options.depth_scale or shape.depth_scale,
        with_legs=image.view == "side" and image.category == "quadruped",
        flat_depth=shape.flat_depth,
    )
    progress(0.6, "colouring")
    if views is None:
        colours = project_colours(image, grid, view_mesh.positions)
    else:
        normals = meshops.vertex_normals(view_mesh.positions, view_mesh.faces)
        colours = colour_vertices(view_mesh.positions, normals, image, views)
    return to_model_space(view_mesh.positions, view_mesh.faces, colours, image, shape)


def prompt_text(request: StepRequest) -> str:
    prompt = request.job.prompt
    return " ".join(part for part in (prompt.concept, prompt.details) if part)
