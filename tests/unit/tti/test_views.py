"""The procedural tti's six orthographic views: cameras, 3D shape from the 2D builders, albedo, PBR."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from assetcore.geometry.camera import Camera
from assetcore.multiview import Multiview, decode_multiview_png, encode_multiview_png
from assetcore.prompting import analyse_prompt
from assetcore.worker.backend import OutputFile, StepError, StepOutput
from services.tti.drawing.concept import MARGIN, build_figure
from services.tti.drawing.palette import MATERIAL_LOOKS, STYLES
from services.tti.drawing.views import CAMERAS, LAYOUT, TILE, SubjectViews, project, render_views
from services.tti.drawing.volume import Volume, build_volume
from services.tti.gates import check_views_output
from services.tti.step import STEP
from tests.support.image_steps import image_request
from tests.support.steps import no_progress, run_step_function

KNIGHT = "a knight in red armor with a round shield"
FRONT, LEFT, BACK, RIGHT, TOP, BOTTOM = range(6)


@cache
def outputs(prompt: str) -> dict[str, bytes]:
    backend = STEP.backends["procedural"].create()
    request = image_request("tti", prompt, params={"size": 256})
    return {f.name: f.data for f in run_step_function(backend, request, no_progress).files}


@cache
def multiview(prompt: str, name: str = "views") -> Multiview:
    return decode_multiview_png(outputs(prompt)[name])


@cache
def volume_of(prompt: str) -> Volume:
    analysis = analyse_prompt(prompt)
    figure = build_figure(analysis, np.random.default_rng(7))
    return build_volume(figure, analysis.subject, analysis.category, margin=MARGIN)


@cache
def views_of(prompt: str) -> SubjectViews:
    """The views of `volume_of(prompt)`, so their pixels and its labels agree."""
    return render_views(volume_of(prompt), STYLES["stylized"], np.random.default_rng(7))


def seen(prompt: str, view: int) -> npt.NDArray[np.uint8]:
    azimuth, elevation = CAMERAS[view]
    return project(volume_of(prompt), Camera.orbit(azimuth, elevation, None)).labels


def labels_named(volume: Volume, *names: str) -> list[int]:
    return [i + 1 for i, piece in enumerate(volume.pieces) if piece.name in names]


def extent_of(mask: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """(rows, columns) the mask spans."""
    rows, columns = np.nonzero(mask)
    return int(rows.max() - rows.min() + 1), int(columns.max() - columns.min() + 1)


def test_views_and_materials_decode_with_the_orthographic_cameras() -> None:
    assert list(outputs(KNIGHT)) == ["image", "views", "materials"]
    for name in ("views", "materials"):
        decoded = multiview(KNIGHT, name)
        assert (decoded.layout, decoded.fov_deg, decoded.tile) == (LAYOUT, None, TILE)
        assert [(v.azimuth_deg, v.elevation_deg) for v in decoded.views] == list(CAMERAS)
        assert decoded.extent == pytest.approx(volume_of(KNIGHT).extent)
    assert "views" in STEP.produces and "materials" in STEP.produces


def test_same_seed_same_views() -> None:
    assert outputs(KNIGHT)["views"] == outputs.__wrapped__(KNIGHT)["views"]


@pytest.mark.parametrize("prompt", [KNIGHT, "a grey wolf"])
def test_tiles_agree_with_the_cameras_projection(prompt: str) -> None:
    """Every voxel projects (Camera.tile_pixels) into its views' mattes, and the mattes hold nothing else."""
    volume = volume_of(prompt)
    centres = -volume.extent + (np.argwhere(volume.labels > 0) + 0.5) * volume.voxel_size
    for azimuth, elevation in CAMERAS:
        camera = Camera.orbit(azimuth, elevation, None)
        rows, columns, _ = camera.tile_pixels(centres, volume.extent, TILE)
        hit = np.zeros((TILE, TILE), bool)
        hit[rows.astype(int), columns.astype(int)] = True
        coverage = project(volume, camera).coverage
        assert (coverage[hit] > 0).all(), (azimuth, elevation)
        assert not ((coverage >= 0.5) & ~ndimage.binary_dilation(hit, iterations=2)).any()


def test_the_knights_back_is_not_its_mirrored_front() -> None:
    volume = volume_of(KNIGHT)
    visor = labels_named(volume, "visor")
    assert np.isin(seen(KNIGHT, FRONT), visor).any()
    assert not np.isin(seen(KNIGHT, BACK), visor).any()
    front, back = (views_of(KNIGHT).albedo.views[i].rgba.astype(float) for i in (FRONT, BACK))
    mirrored = front[:, ::-1]
    both = (mirrored[..., 3] > 250) & (back[..., 3] > 250)
    assert np.abs(mirrored[..., :3] - back[..., :3])[both].mean() > 8.0


def test_a_round_shield_is_thin_from_the_side() -> None:
    for view in (LEFT, RIGHT):
        rows, columns = extent_of(views_of("a round shield").albedo.views[view].rgba[..., 3] >= 128)
        assert columns < 0.15 * rows
    rows, columns = extent_of(views_of("a round shield").albedo.views[FRONT].rgba[..., 3] >= 128)
    assert columns > 0.9 * rows  # and round from the front


def test_feet_protrude_forward_in_the_side_view() -> None:
    volume = volume_of(KNIGHT)
    labels = seen(KNIGHT, LEFT)  # the camera at +x: the subject's front (+z) is the image's left
    boots, legs = labels_named(volume, "boot_l", "boot_r"), labels_named(volume, "leg_l", "leg_r")
    boot_front = np.nonzero(np.isin(labels, boots).any(axis=0))[0].min()
    leg_front = np.nonzero(np.isin(labels, legs).any(axis=0))[0].min()
    assert leg_front - boot_front > 0.04 / volume.extent * TILE / 2  # more than 4 cm ahead of the shin


def test_a_humanoids_arms_are_thin_strips_from_above() -> None:
    volume = volume_of("a person")
    top = seen("a person", TOP)
    for arm in labels_named(volume, "arm_l", "arm_r"):
        depth, width = extent_of(top == arm)
        assert depth < 0.35 * width
    torso_depth, _ = extent_of(np.isin(top, labels_named(volume, "torso")))
    assert torso_depth > depth


def test_a_horse_from_the_front_shows_its_chest_and_both_front_legs() -> None:
    volume = volume_of("a horse")
    front = seen("a horse", FRONT)
    legs = np.isin(front, labels_named(volume, "leg_front_near", "foot_front_near"))
    low = legs[int(0.85 * TILE) :]
    columns = np.nonzero(low.any(axis=0))[0]
    middle = TILE // 2
    assert columns.min() < middle < columns.max() and not low[:, middle].any()  # two legs, a gap
    assert np.isin(front, labels_named(volume, "body")).any()


def test_materials_steel_is_metallic_cloth_is_not() -> None:
    for prompt, material, metallic, rough in ((KNIGHT, "steel", 255, False), ("a person", "cloth", 0, True)):
        volume = volume_of(prompt)
        labels = [i + 1 for i, p in enumerate(volume.pieces) if p.paint.material == material]
        for view in (FRONT, BACK):
            texels = views_of(prompt).materials.views[view].rgba
            pixels = np.isin(seen(prompt, view), labels) & (texels[..., 3] == 255)
            assert pixels.sum() > 1000
            assert (texels[pixels][:, 2] == metallic).all()
            assert ((texels[pixels][:, 1] > 200) == rough).all()
            assert (texels[..., 0][texels[..., 3] > 0] == 255).all()


def test_albedo_is_the_paint_without_lighting() -> None:
    """Untextured pieces (skin) keep their paint's exact colour in every view: no shading, no highlights."""
    prompt = "a wizard"
    volume = volume_of(prompt)
    skin = [i + 1 for i, p in enumerate(volume.pieces) if MATERIAL_LOOKS[p.paint.material].texture == "none"]
    checked = 0
    for view in range(6):
        labels, rgba = seen(prompt, view), views_of(prompt).albedo.views[view].rgba
        for label in skin:
            inside = ndimage.binary_erosion(labels == label) & (rgba[..., 3] == 255)
            expected = np.round(np.array(volume.pieces[label - 1].paint.rgb) * 255.0)
            assert (rgba[..., :3][inside] == expected).all()
            checked += int(inside.sum())
    assert checked > 1000


def test_the_gate_refuses_views_without_materials_or_with_other_mattes() -> None:
    files = outputs(KNIGHT)
    lone = StepOutput(files=[OutputFile("views", "image/png", files["views"])])
    with pytest.raises(StepError, match="companion"):
        check_views_output(lone)
    materials = multiview(KNIGHT, "materials")
    cut = [dataclasses.replace(v, rgba=v.rgba.copy()) for v in materials.views]
    cut[TOP].rgba[..., 3] = 0
    broken = encode_multiview_png(dataclasses.replace(materials, views=tuple(cut)))
    with pytest.raises(StepError, match="empty or cut off"):
        check_views_output(
            StepOutput(
                files=[
                    OutputFile("views", "image/png", files["views"]),
                    OutputFile("materials", "image/png", broken),
                ]
            )
        )
