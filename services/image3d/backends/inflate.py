"""The `inflate` backend: silhouette-to-volume reconstruction, no model weights.

With orthographic views of a known framing (the procedural tti's "views"), the surface is
carved from all of them (`hull`) and coloured from their albedo, with the "materials" tiles
projected the same way. Otherwise the concept image's matte is inflated: a smooth inflation
profile (a Poisson potential, see `silhouette`) mirrored front and back; with the multiview
step's perspective views that solid is carved by them (`perspective`: their framing fitted),
then marching cubes -> one closed component, coloured by projecting the image, and the views
where the job has them. Either way the result is scaled to the subject's real size.
Front views map image right to +X and up to +Y (inflated along Z); side views (quadrupeds)
map the direction the head points to +Z and up to +Y (inflated along X).
"""

from __future__ import annotations

from assetcore.geometry import meshops
from assetcore.geometry.model import Mesh
from assetcore.multiview import Multiview
from assetcore.worker.backend import BackendInfo, Progress, StepOutput, StepRequest
from services.image3d.carving import carve
from services.image3d.colouring import project_colours
from services.image3d.concept import ConceptImage, read_concept_image
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
from services.image3d.volume import inflation_field, surface


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
            mesh, carving_notes = inflated_mesh(image, views, shape, options, progress)
            notes += carving_notes
        progress(0.8, "writing the mesh")
        return step_output(mesh, notes, {"resolution": float(options.resolution)})


def carved_mesh(
    image: ConceptImage, views: Multiview, materials: Multiview | None, shape: SubjectShape, resolution: int
) -> Mesh:
    """The visual hull of orthographic `views`, rounded, coloured (and given materials) from them."""
    view_mesh = carve(views, resolution, box_like=shape.flat_depth is not None).mesh
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
) -> tuple[Mesh, tuple[str, ...]]:
    """The concept's silhouette inflated; with perspective `views`, carved by them and coloured
    from them (fitted to the mesh) as well as the concept image; and the carving's notes."""
    grid = fit_grid(image.alpha, options.resolution)
    solid = inflation_field(
        grid,
        options.depth_scale or shape.depth_scale,
        with_legs=image.view == "side" and image.category == "quadruped",
        flat_depth=shape.flat_depth,
    )
    if views is None:
        view_mesh = surface(solid)
        progress(0.6, "colouring")
        colours = project_colours(image, grid, view_mesh.positions)
        notes: tuple[str, ...] = ()
    else:
        progress(0.3, f"carving the inflated {image.subject} with the {len(views.views)} views")
        carving = carve(views, options.resolution, solid=solid)
        view_mesh = carving.mesh
        notes = (f"carved the concept's inflated silhouette with the {len(views.views)} perspective views",)
        notes += carving.notes
        progress(0.6, "colouring")
        normals = meshops.vertex_normals(view_mesh.positions, view_mesh.faces)
        colours = colour_vertices(view_mesh.positions, normals, image, views)
    return to_model_space(view_mesh.positions, view_mesh.faces, colours, image, shape), notes


def prompt_text(request: StepRequest) -> str:
    prompt = request.job.prompt
    return " ".join(part for part in (prompt.concept, prompt.details) if part)
