"""Previews: the software mesh render and image thumbnails."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assetcore.geometry.model import Mesh, Model
from assetcore.geometry.preview import (
    BONE_COLOR,
    render_image_preview,
    render_mesh_preview,
    render_model_preview,
)
from assetcore.worker.backend import ErrorCode, StepError
from tests.support.synthetic_models import box_mesh, creature_model


def _pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA"
    return np.asarray(image)


def test_mesh_preview_is_a_framed_opaque_subject_on_transparency() -> None:
    pixels = _pixels(render_mesh_preview(box_mesh(colored=True, segments=2)))
    assert pixels.shape == (256, 256, 4)
    alpha = pixels[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[128, 128] == 255
    covered = np.argwhere(alpha > 0)
    assert covered.min() > 2 and covered.max() < 253  # whole subject in frame, with a margin
    assert (alpha > 0).mean() > 0.3  # and filling a good part of it


def test_faces_are_lit_differently() -> None:
    pixels = _pixels(render_mesh_preview(box_mesh(segments=1), size=128))
    opaque = pixels[pixels[..., 3] == 255][:, :3]
    assert len(np.unique(opaque.mean(axis=1).round(-1))) >= 3  # top, front and side shades


def test_texture_colours_show() -> None:
    pixels = _pixels(render_mesh_preview(box_mesh(textured=True)))
    opaque = pixels[pixels[..., 3] == 255][:, :3].astype(int)
    reddish = (opaque[:, 0] > opaque[:, 1] + 60) & (opaque[:, 0] > opaque[:, 2] + 60)
    whitish = opaque.min(axis=1) > 150
    assert reddish.mean() > 0.1 and whitish.mean() > 0.1


def test_previews_are_deterministic_and_sized() -> None:
    mesh = box_mesh(textured=True, segments=4)
    assert render_mesh_preview(mesh, size=64) == render_mesh_preview(mesh, size=64)
    assert _pixels(render_mesh_preview(mesh, size=64)).shape == (64, 64, 4)


def test_model_preview_draws_the_skeleton() -> None:
    model = creature_model("humanoid")
    bare = _pixels(render_mesh_preview(model.mesh))
    with_bones = _pixels(render_model_preview(model))
    bone_like = np.all(np.abs(with_bones[..., :3].astype(int) - BONE_COLOR[:3]) < 30, axis=-1)
    assert bone_like.sum() > 50
    assert not np.all(np.abs(bare[..., :3].astype(int) - BONE_COLOR[:3]) < 30, axis=-1).any()


def test_degenerate_meshes_render_without_error() -> None:
    empty = Mesh(positions=np.zeros((0, 3), np.float32), faces=np.zeros((0, 3), np.uint32))
    assert _pixels(render_mesh_preview(empty))[..., 3].max() == 0
    flat = Mesh(positions=np.zeros((3, 3), np.float32), faces=np.array([[0, 1, 2]], np.uint32))
    assert _pixels(render_mesh_preview(flat))[..., 3].max() == 0
    broken = box_mesh()
    broken.positions[0] = np.nan
    assert _pixels(render_model_preview(Model(mesh=broken)))[..., 3].max() == 255


def test_image_preview_keeps_aspect_and_alpha() -> None:
    rgba = np.zeros((400, 800, 4), np.uint8)
    rgba[100:300, 200:600] = (200, 30, 30, 255)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    pixels = _pixels(render_image_preview(out.getvalue(), size=128))
    assert pixels.shape == (64, 128, 4)
    assert pixels[0, 0, 3] == 0 and pixels[32, 64, 3] == 255


def test_image_preview_refuses_non_images() -> None:
    with pytest.raises(StepError) as caught:
        render_image_preview(b"definitely not a png")
    assert caught.value.code == ErrorCode.INVALID_IMAGE


@pytest.mark.parametrize(("yaw", "seen"), [(0.0, 0), (180.0, 2)])
def test_the_view_turns_with_yaw(yaw: float, seen: int) -> None:
    """Front (+Z) faces red and back (-Z) faces blue: each view shows its own side."""
    mesh = box_mesh(segments=1)
    colours = np.full((mesh.vertex_count, 4), 1.0, np.float32)
    colours[:, :3] = 0.0
    colours[:, 1] = 1.0  # sides green
    normals = np.asarray(mesh.normals)
    colours[normals[:, 2] > 0.9] = (1.0, 0.0, 0.0, 1.0)
    colours[normals[:, 2] < -0.9] = (0.0, 0.0, 1.0, 1.0)
    mesh.colors = colours
    opaque = _pixels(render_mesh_preview(mesh, 64, yaw_deg=yaw, pitch_deg=0.0))
    channels = opaque[opaque[..., 3] == 255][:, :3].astype(int)
    assert (channels.argmax(axis=1) == seen).mean() > 0.9
