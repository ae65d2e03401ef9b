"""The `inflate` backend: silhouette-to-volume reconstruction, no model weights.

Matte on a voxel grid -> smooth inflation profile (a Poisson potential, see `silhouette`)
mirrored front and back -> marching cubes -> one closed component, coloured by projecting
the image, scaled to the subject's real size.
Front views map image right to +X and up to +Y (inflated along Z); side views (quadrupeds)
map the direction the head points to +Z and up to +Y (inflated along X).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry import meshops
from assetcore.geometry.gltf import write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.geometry.preview import render_mesh_preview
from assetcore.worker.backend import BackendInfo, OutputFile, Progress, StepOutput, StepRequest
from services.image3d.colouring import project_colours
from services.image3d.concept import ConceptImage, read_concept_image
from services.image3d.options import Image3dOptions
from services.image3d.silhouette import fit_grid
from services.image3d.sizing import SubjectShape, subject_shape
from services.image3d.volume import inflate

GLB_MEDIA_TYPE = "model/gltf-binary"
# Rows: model X, Y, Z in terms of view space (u right, v up, n towards the viewer).
FRONT_TO_MODEL = np.eye(3)
SIDE_TO_MODEL = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # image right -> +Z
HALF_TURN = np.diag([-1.0, 1.0, -1.0])  # about +Y: for side views facing image left


class InflateBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("inflate", "1", ("vertex_colors", "watertight"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        options = request.options_as(Image3dOptions)
        image = read_concept_image(request.inputs["image"].data, prompt_text(request))
        progress(0.1, f"reconstructing a {image.category} ({image.subject}) from its {image.view} view")
        grid = fit_grid(image.alpha, options.resolution)
        shape = subject_shape(image.category, image.subject)
        view_mesh = inflate(
            grid,
            options.depth_scale or shape.depth_scale,
            with_legs=image.view == "side" and image.category == "quadruped",
            flat_depth=shape.flat_depth,
        )
        progress(0.6, "colouring")
        colours = project_colours(image, grid, view_mesh.positions)
        mesh = to_model_space(view_mesh.positions, view_mesh.faces, colours, image, shape)
        progress(0.8, "writing the mesh")
        glb = write_glb(Model(mesh=mesh))
        extent = mesh.positions.max(axis=0) - mesh.positions.min(axis=0)
        return StepOutput(
            files=[OutputFile("mesh", GLB_MEDIA_TYPE, glb)],
            preview_png=render_mesh_preview(mesh),
            notes=list(image.notes),
            metrics={
                "faces": float(mesh.face_count),
                "vertices": float(mesh.vertex_count),
                "resolution": float(options.resolution),
                "width_m": float(extent[0]),
                "height_m": float(extent[1]),
                "depth_m": float(extent[2]),
            },
        )


def prompt_text(request: StepRequest) -> str:
    prompt = request.job.prompt
    return " ".join(part for part in (prompt.concept, prompt.details) if part)


def to_model_space(
    view_positions: npt.NDArray[np.float64],
    faces: npt.NDArray[np.int64],
    colours: npt.NDArray[np.float32],
    image: ConceptImage,
    shape: SubjectShape,
) -> Mesh:
    """Rotate view space into model axes, scale voxels to metres, stand the subject on y = 0."""
    extent = view_positions.max(axis=0) - view_positions.min(axis=0)
    voxels = extent[1] if shape.extent == "height" else max(extent[0], extent[1])
    rotation = FRONT_TO_MODEL if image.view == "front" else SIDE_TO_MODEL
    if image.view == "side" and not image.facing_right:
        rotation = HALF_TURN @ rotation
    positions = (view_positions @ rotation.T) * (shape.metres / voxels)
    positions[:, 1] -= positions[:, 1].min()
    return Mesh(
        positions=positions.astype(np.float32),
        faces=faces.astype(np.uint32),
        normals=meshops.vertex_normals(positions, faces),
        colors=colours,
        name=image.subject,
    )
