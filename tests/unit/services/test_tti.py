"""The tti step with its procedural backend: clean, deterministic concept images from prompts."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from PIL import Image

from assetcore.concept_image import read_concept_metadata
from assetcore.prompting import COLOURS, MATERIALS
from assetcore.worker.backend import ErrorCode, StepError, StepOutput
from services.tti.drawing.palette import COLOUR_RGB, MATERIAL_LOOKS
from services.tti.drawing.props import PROP_KINDS
from services.tti.step import STEP
from tests.support.image_steps import (
    bounding_box,
    components,
    image_request,
    matte_of,
    rgba_of,
    runs,
)
from tests.support.steps import no_progress, run_step_function

SIZE = 512  # the drawing scales with the size; small images keep the tests fast


@cache
def render(
    prompt: str, seed: int = 7, style: str = "", size: int = SIZE, stand_in: bool = False
) -> StepOutput:
    backend = STEP.backends[STEP.default_backend].create()
    backend.load()
    params = {"size": size, "stand_in": True} if stand_in else {"size": size}
    return run_step_function(
        backend, image_request("tti", prompt, params=params, seed=seed, style=style), no_progress
    )


def image_of(prompt: str, **kwargs: object) -> bytes:
    return render(prompt, **kwargs).files[0].data  # type: ignore[arg-type]


def test_step_definition() -> None:
    assert (STEP.name, STEP.consumes, STEP.default_backend) == ("tti", (), "procedural")
    assert STEP.interactive and STEP.default_pool() == "cpu"


@pytest.mark.parametrize(
    ("prompt", "view", "category", "subject"),
    [
        ("a knight in red armor with a round shield", "front", "humanoid", "knight"),
        ("a grey wolf", "side", "quadruped", "wolf"),
        ("a wooden treasure chest", "front", "prop", "chest"),
    ],
)
def test_acceptance_prompts(prompt: str, view: str, category: str, subject: str) -> None:
    output = render(prompt, size=1024)
    image, *views = output.files  # the views: tests/unit/tti/test_views.py
    assert [f.name for f in views] == ["views", "materials"]
    assert (image.name, image.media_type) == ("image", "image/png")
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert (decoded.mode, decoded.size) == ("RGBA", (1024, 1024))
    metadata = read_concept_metadata(image.data)
    assert (metadata["view"], metadata["category"], metadata["subject"]) == (view, category, subject)
    assert output.preview_png is not None
    with Image.open(io.BytesIO(output.preview_png)) as preview:
        assert max(preview.size) <= 256


def test_default_size_is_1024() -> None:
    backend = STEP.backends["procedural"].create()
    output = run_step_function(backend, image_request("tti", "a rock"), no_progress)
    assert rgba_of(output.files[0].data).shape == (1024, 1024, 4)


def test_same_seed_same_bytes_other_seed_other_image() -> None:
    prompt = "a knight in red armor with a round shield"
    assert image_of(prompt) == render.__wrapped__(prompt).files[0].data
    assert image_of(prompt, seed=8) != image_of(prompt)
    assert image_of(prompt, style="toon") != image_of(prompt)


@pytest.mark.parametrize(
    "prompt", ["a knight in red armor with a round shield", "a grey wolf", "a barrel", "a tree"]
)
def test_matte_is_one_centred_subject_clear_of_the_border(prompt: str) -> None:
    matte = matte_of(image_of(prompt))
    areas = components(matte)
    assert areas and areas[0] >= 0.995 * sum(areas)
    top, bottom, left, right = bounding_box(matte)
    assert min(top, left, SIZE - bottom, SIZE - right) >= 0.04 * SIZE
    assert abs((top + bottom) / 2 - SIZE / 2) <= 2 and abs((left + right) / 2 - SIZE / 2) <= 2


def test_alpha_is_an_exact_matte_with_an_antialiased_edge() -> None:
    alpha = rgba_of(image_of("a wooden treasure chest"))[..., 3]
    partial = (alpha > 0) & (alpha < 255)
    assert 0 < partial.sum() < 0.05 * (alpha == 255).sum()
    assert alpha[0].max() == 0 and alpha[:, 0].max() == 0


@pytest.mark.parametrize(
    "prompt",
    [
        "a knight in red armor with a round shield",
        "a bulky orc with an axe",
        "a slender elf",
        "a woman in a robe",
        "a king with a cape",
        "a small dwarf",
        "a soldier",
        "a robot",
        "a skeleton",
    ],
)
def test_humanoids_stand_in_an_a_pose_with_gaps(prompt: str) -> None:
    matte = matte_of(image_of(prompt))
    top, bottom, _, _ = bounding_box(matte)
    height = bottom - top
    axis = round(float(np.nonzero(matte[top : top + height // 20])[1].mean()))  # the head is on top
    between_legs = matte[top:bottom, axis - 1 : axis + 2].any(axis=1)[::-1]  # from the feet up
    assert np.argmax(between_legs) >= 0.3 * height, "the legs part from the crotch down"
    crotch = bottom - int(np.argmax(between_legs))
    arms_apart = sum(runs(row) >= 3 for row in matte[top:crotch])
    assert arms_apart >= 0.12 * height, "the arms stand clear of the torso"


def test_plain_humanoid_matte_is_mirror_symmetric() -> None:
    matte = matte_of(image_of("a soldier"))
    assert np.array_equal(matte, matte[:, ::-1])
    assert read_concept_metadata(image_of("a soldier"))["symmetric"] is True


def test_quadruped_is_a_side_view_with_four_feet_facing_plus_x() -> None:
    data = image_of("a grey wolf")
    assert read_concept_metadata(data)["facing"] == "+x"
    matte = matte_of(data)
    top, bottom, left, right = bounding_box(matte)
    assert runs(matte[bottom - max(2, int(0.03 * (bottom - top)))]) == 4
    head_rows = np.nonzero(matte[top : top + (bottom - top) // 5])[1]
    assert head_rows.mean() > (left + right) / 2, "the head (highest part) is towards +x"


@pytest.mark.parametrize("subject", sorted(set(PROP_KINDS) - {"object"}))
def test_every_prop_class_draws_one_front_view_subject(subject: str) -> None:
    data = image_of(f"a {subject}")
    metadata = read_concept_metadata(data)
    assert (metadata["view"], metadata["subject"]) == ("front", subject)
    areas = components(matte_of(data))
    assert areas[0] >= 0.99 * sum(areas)


@pytest.mark.parametrize(
    ("prompt", "dominant"),
    [("a knight in red armor", 0), ("a blue barrel", 2), ("a green potion", 1), ("a yellow crate", 0)],
)
def test_prompt_colours_dominate_the_subject(prompt: str, dominant: int) -> None:
    rgba = rgba_of(image_of(prompt)).astype(np.float32)
    mean = rgba[rgba[..., 3] == 255, :3].mean(axis=0)
    assert int(np.argmax(mean)) == dominant


def test_grey_wolf_is_grey_and_wooden_chest_is_brown() -> None:
    wolf = rgba_of(image_of("a grey wolf")).astype(np.float32)
    r, g, b = wolf[wolf[..., 3] == 255, :3].mean(axis=0)
    assert max(r, g, b) - min(r, g, b) < 20
    chest = rgba_of(image_of("a wooden treasure chest")).astype(np.float32)
    r, g, b = chest[chest[..., 3] == 255, :3].mean(axis=0)
    assert r > g > b


def test_a_stand_in_for_an_unknown_subject_is_a_warning_first() -> None:
    output = render("a shimmering zorblax", stand_in=True)
    assert output.notes[0] == (
        "warning: stand-in: 'zorblax' is not in the procedural vocabulary; drew a generic object in its place"
    )
    assert "unrecognised words: shimmering, zorblax" in output.notes
    assert read_concept_metadata(output.files[0].data)["category"] == "prop"
    person = render("a cheerful alchemist", stand_in=True)
    assert "drew a generic person" in person.notes[0]
    assert read_concept_metadata(person.files[0].data)["category"] == "humanoid"


def test_a_known_subject_has_no_warning_with_or_without_the_stand_in_option() -> None:
    assert not any(note.startswith("warning") for note in render("a rock").notes)
    assert render("a rock", stand_in=True).notes == render("a rock").notes


def test_unknown_style_is_noted_and_drawn_in_the_default_style() -> None:
    output = render("a rock", style="vaporwave")
    assert any("unrecognised style 'vaporwave'" in note for note in output.notes)
    assert output.files[0].data == image_of("a rock", style="stylized")


def test_size_option() -> None:
    assert rgba_of(image_of("a rock", size=256)).shape == (256, 256, 4)
    backend = STEP.backends["procedural"].create()
    output = run_step_function(backend, image_request("tti", "a rock", params={"size": 300.0}), no_progress)
    assert rgba_of(output.files[0].data).shape == (300, 300, 4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": 100}, "input.step_options.tti.size"),
        ({"size": 4096}, "input.step_options.tti.size"),
        ({"size": "big"}, "input.step_options.tti.size"),
        ({"size": True}, "input.step_options.tti.size"),
        ({"steps": 20}, "input.step_options.tti.steps"),
    ],
)
def test_bad_options_are_invalid_params(params: dict[str, object], field: str) -> None:
    backend = STEP.backends["procedural"].create()
    with pytest.raises(StepError) as caught:
        run_step_function(backend, image_request("tti", "a rock", params=params), no_progress)
    assert caught.value.code == ErrorCode.INVALID_PARAMS
    assert caught.value.message.startswith(field)


def test_empty_prompt_is_invalid_params() -> None:
    backend = STEP.backends["procedural"].create()
    with pytest.raises(StepError) as caught:
        run_step_function(backend, image_request("tti", "   "), no_progress)
    assert caught.value.code == ErrorCode.INVALID_PARAMS


def test_every_colour_and_material_word_has_a_look() -> None:
    assert set(COLOURS.values()) <= set(COLOUR_RGB)
    assert set(MATERIALS.values()) <= set(MATERIAL_LOOKS)
