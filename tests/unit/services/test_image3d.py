"""image3d: silhouette inflation into one watertight, coloured, real-sized mesh."""

from __future__ import annotations

import io
import os
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Mesh
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import ErrorCode, InputFile, StepError, StepOutput, StepRequest
from services.image3d.backends.inflate import InflateBackend
from services.image3d.step import STEP
from tests.support import concept_images
from tests.support.steps import no_progress, run_step_function, step_request

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESOLUTION = 80  # voxels along the subject's longest side: small and fast


def request(image: bytes, params: dict[str, Any] | None = None, prompt: str = "a knight") -> StepRequest:
    return step_request(
        "image3d",
        job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt)),
        {"resolution": RESOLUTION} if params is None else params,
        1,
        {"image": InputFile("image", "image/png", image, "0" * 64)},
    )


def reconstruct(image: bytes, params: dict[str, Any] | None = None, prompt: str = "a knight") -> StepOutput:
    return run_step_function(InflateBackend(), request(image, params, prompt), no_progress)


def mesh_of(output: StepOutput) -> Mesh:
    (mesh_file,) = output.files
    assert (mesh_file.name, mesh_file.media_type) == ("mesh", "model/gltf-binary")
    return read_glb(mesh_file.data).mesh


@cache
def humanoid() -> StepOutput:
    return reconstruct(concept_images.humanoid_png())


@cache
def quadruped() -> StepOutput:
    return reconstruct(concept_images.quadruped_png())


def test_step_definition() -> None:
    assert (STEP.name, STEP.consumes, STEP.default_backend, STEP.default_pool()) == (
        "image3d",
        ("image", "views", "materials"),
        "inflate",
        "cpu",
    )
    assert STEP.backends["inflate"].create().describe().name == "inflate"


@pytest.mark.parametrize("make", [humanoid, quadruped, lambda: reconstruct(concept_images.chest_png())])
def test_one_closed_component_with_colours_and_normals(make: Any) -> None:
    mesh = mesh_of(make())
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    assert meshops.is_closed_manifold(faces)
    assert meshops.components(faces, len(positions))[0] == 1
    assert meshops.signed_volume(positions, faces) > 0  # wound outward
    assert mesh.colors is not None and mesh.colors.shape == (mesh.vertex_count, 4)
    assert mesh.normals is not None and np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-3)


def test_humanoid_is_real_sized_standing_and_centred() -> None:
    output = humanoid()
    mesh = mesh_of(output)
    low, high = mesh.positions.min(axis=0), mesh.positions.max(axis=0)
    assert high[1] - low[1] == pytest.approx(1.8, abs=0.01)
    assert low[1] == pytest.approx(0.0, abs=1e-6)
    assert abs(low[0] + high[0]) < 0.02 and abs(low[2] + high[2]) < 0.02  # centred on x = z = 0
    assert high[2] - low[2] < high[0] - low[0]  # flatter front to back than wide (arms out)
    assert output.metrics["faces"] == mesh.face_count
    preview = Image.open(io.BytesIO(output.preview_png or b""))
    assert max(preview.size) <= 256


def test_symmetric_matte_gives_a_mirror_symmetric_mesh() -> None:
    assert concept_images.is_mirror_symmetric(concept_images.humanoid_image())
    mesh = mesh_of(humanoid())
    voxel = 1.8 / RESOLUTION
    mirrored = mesh.positions.astype(np.float64) * (-1.0, 1.0, 1.0)
    distances = meshops.SurfaceIndex(mesh.positions, mesh.faces, candidates=8).closest(mirrored).distances
    assert distances.max() < voxel


def test_colours_are_projected_from_the_image() -> None:
    mesh = mesh_of(humanoid())
    assert mesh.colors is not None
    torso = (np.abs(mesh.positions[:, 0]) < 0.1) & (np.abs(mesh.positions[:, 1] - 1.0) < 0.1)
    head = mesh.positions[:, 1] > 1.65
    red = meshops.srgb_to_linear(np.array(concept_images.ARMOR) / 255.0)
    skin = meshops.srgb_to_linear(np.array(concept_images.SKIN) / 255.0)
    assert np.allclose(np.median(mesh.colors[torso, :3], axis=0), red, atol=0.03)
    assert np.allclose(np.median(mesh.colors[head, :3], axis=0), skin, atol=0.03)
    # The sides take the nearest silhouette colour, not the background's.
    background = meshops.srgb_to_linear(np.array(concept_images.BACKGROUND) / 255.0)
    assert np.linalg.norm(mesh.colors[:, :3] - background, axis=1).min() > 0.2


def feet(mesh: Mesh) -> npt.NDArray[np.float64]:
    """Centres of the separate pieces of the mesh below a fifth of its height."""
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    low = faces[(positions[faces][:, :, 1] < 0.2 * positions[:, 1].max()).all(axis=1)]
    _, labels = meshops.components(low, len(positions))
    return np.array(
        [positions[low[labels == label]].reshape(-1, 3).mean(axis=0) for label in np.unique(labels)]
    )


def test_side_view_quadruped_faces_plus_z_and_stands_on_four_legs() -> None:
    mesh = mesh_of(quadruped())
    assert mesh.positions[:, 1].max() == pytest.approx(1.05, abs=0.01)  # the wolf's standing height
    assert mesh.positions[np.argmax(mesh.positions[:, 1]), 2] > 0  # the head (highest point) is at +z
    centres = feet(mesh)
    assert len(centres) == 4
    assert (centres[:, 0] > 0).sum() == 2 and (centres[:, 2] > 0).sum() == 2  # left/right, front/back


def test_four_legs_drawn_from_the_side_stay_four() -> None:
    centres = feet(mesh_of(reconstruct(concept_images.quadruped_png(four_legs=True))))
    assert len(centres) == 4
    assert (centres[:, 0] > 0).sum() == 2 and (centres[:, 2] > 0).sum() == 2


def test_side_view_facing_left_still_faces_plus_z() -> None:
    mesh = mesh_of(reconstruct(concept_images.quadruped_png(facing_left=True)))
    assert mesh.positions[np.argmax(mesh.positions[:, 1]), 2] > 0


def test_box_like_prop_is_sized_by_class_and_flat_fronted() -> None:
    mesh = mesh_of(reconstruct(concept_images.chest_png()))
    extent = mesh.positions.max(axis=0) - mesh.positions.min(axis=0)
    assert max(extent[0], extent[1]) == pytest.approx(0.8, abs=0.01)  # a chest is 0.8 m wide
    assert extent[2] == pytest.approx(2 * 0.32 * 0.8, abs=0.03)  # cut flat front and back
    front = mesh.positions[:, 2] > extent[2] / 2 - 0.005
    assert front.mean() > 0.15  # a large flat front face, not a pillow


def test_same_input_same_bytes() -> None:
    image = concept_images.chest_png()
    first, second = reconstruct(image), reconstruct(image)
    assert first.files[0].data == second.files[0].data
    assert first.preview_png == second.preview_png


def test_without_metadata_the_prompt_decides() -> None:
    image = concept_images.png(concept_images.quadruped_image())
    output = reconstruct(image, prompt="a grey wolf")
    assert any("from the prompt" in note for note in output.notes)
    mesh = mesh_of(output)
    assert mesh.positions[:, 1].max() == pytest.approx(1.05, abs=0.01)  # sized and oriented as a wolf
    extent = mesh.positions.max(axis=0) - mesh.positions.min(axis=0)
    assert extent[2] > extent[0]  # side view: body length along z


def test_opaque_image_is_keyed_against_its_border() -> None:
    opaque = Image.new("RGB", (96, 96), concept_images.BACKGROUND)
    opaque.paste(concept_images.chest_image(96).convert("RGB"), mask=concept_images.chest_image(96))
    output = reconstruct(concept_images.png(opaque), prompt="a wooden chest")
    assert any("no alpha" in note for note in output.notes)
    extent = np.ptp(mesh_of(output).positions, axis=0)
    assert extent[0] == pytest.approx(0.8, abs=0.01)


def test_bytes_that_are_not_an_image() -> None:
    with pytest.raises(StepError) as error:
        reconstruct(b"definitely not a png")
    assert error.value.code == ErrorCode.INVALID_IMAGE


def test_empty_matte() -> None:
    transparent = concept_images.png(Image.new("RGBA", (64, 64), (200, 10, 10, 0)), view="front")
    with pytest.raises(StepError) as error:
        reconstruct(transparent)
    assert error.value.code == ErrorCode.EMPTY_MATTE


def test_missing_input() -> None:
    bare = step_request("image3d", job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight")))
    with pytest.raises(StepError) as error:
        run_step_function(InflateBackend(), bare, no_progress)
    assert error.value.code == ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"resolution": 10}, "resolution"),
        ({"resolution": 1000}, "resolution"),
        ({"resolution": "high"}, "resolution"),
        ({"depth_scale": 0.0}, "depth_scale"),
        ({"depth_scale": True}, "depth_scale"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(StepError) as error:
        reconstruct(concept_images.chest_png(), params)
    assert error.value.code == ErrorCode.INVALID_PARAMS
    assert field in error.value.message


def test_struct_numbers_arrive_as_floats() -> None:
    output = reconstruct(concept_images.chest_png(), {"resolution": 64.0, "depth_scale": 1})
    assert output.metrics["resolution"] == 64
