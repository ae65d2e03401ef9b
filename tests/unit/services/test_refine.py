"""The refine step with its cpu backend: clean mattes, bleed-free edges, framing, x2 upscale on request."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin
from scipy import ndimage

from assetcore.worker.backend import ErrorCode, StepError, StepOutput
from services.refine.step import STEP
from services.tti.step import STEP as TTI
from tests.support.image_steps import bounding_box, components, image_request, matte_of, rgba_of
from tests.support.steps import no_progress, run_step_function

SIZE = 256


def refine(image: bytes, *, upscale: bool = False, params: dict[str, object] | None = None) -> StepOutput:
    backend = STEP.backends[STEP.default_backend].create()
    backend.load()
    request = image_request("refine", "a knight", image=image, upscale=upscale, params=params)
    return run_step_function(backend, request, no_progress)


@cache
def concept(prompt: str) -> bytes:
    request = image_request("tti", prompt, params={"size": SIZE})
    return run_step_function(TTI.backends["procedural"].create(), request, no_progress).files[0].data


def encode(rgba: npt.NDArray[np.uint8], text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def disc_image(*, centre: tuple[int, int] = (128, 128), radius: int = 70, alpha: bool = True) -> Image.Image:
    """A red disc on a green backdrop, antialiased by drawing at 4x and reducing."""
    big = Image.new(
        "RGBA" if alpha else "RGB", (SIZE * 4, SIZE * 4), (0, 200, 0, 0) if alpha else (0, 200, 0)
    )
    x, y = centre[0] * 4, centre[1] * 4
    ImageDraw.Draw(big).ellipse(
        (x - radius * 4, y - radius * 4, x + radius * 4, y + radius * 4), fill=(220, 20, 20, 255)
    )
    return big.reduce(4)


def test_step_definition() -> None:
    assert (STEP.name, STEP.consumes, STEP.default_backend) == ("refine", ("image",), "cpu")
    assert STEP.interactive and STEP.default_pool() == "cpu"


def test_a_clean_concept_passes_through_with_its_metadata() -> None:
    source = concept("a knight in red armor with a round shield")
    output = refine(source)
    (image,) = output.files
    assert (image.name, image.media_type) == ("image", "image/png")
    with Image.open(io.BytesIO(image.data)) as refined, Image.open(io.BytesIO(source)) as original:
        assert refined.size == (SIZE, SIZE) and refined.mode == "RGBA"
        assert refined.text["assetcore"] == original.text["assetcore"]
    assert np.mean(matte_of(image.data) == matte_of(source)) > 0.9995
    assert output.preview_png is not None


@pytest.mark.parametrize("upscale", [False, True])
def test_upscale_doubles_the_size_only_when_asked(upscale: bool) -> None:
    source = concept("a wooden treasure chest")
    refined = rgba_of(refine(source, upscale=upscale).files[0].data)
    side = 2 * SIZE if upscale else SIZE
    assert refined.shape == (side, side, 4)
    original = matte_of(source)
    if upscale:
        original = np.repeat(np.repeat(original, 2, axis=0), 2, axis=1)
    assert np.mean((refined[..., 3] >= 128) == original) > 0.995


def test_deterministic() -> None:
    source = concept("a grey wolf")
    assert refine(source, upscale=True).files[0].data == refine(source, upscale=True).files[0].data


def test_specks_removed_and_small_holes_filled() -> None:
    rgba = np.asarray(disc_image()).copy()
    rgba[10:13, 10:13, 3] = 255  # specks
    rgba[240:242, 30:33, 3] = 255
    rgba[126:130, 126:130, 3] = 0  # a pinhole in the subject
    output = refine(encode(rgba))
    matte = matte_of(output.files[0].data)
    assert len(components(matte)) == 1
    top, bottom, left, right = bounding_box(matte)
    assert matte[(top + bottom) // 2, (left + right) // 2]
    assert any("removed 2 specks, filled 1 holes" in note for note in output.notes)


def test_feathered_alpha_becomes_binary_with_a_one_pixel_edge() -> None:
    rgba = np.asarray(disc_image()).copy()
    rgba[..., 3] = np.asarray(Image.fromarray(rgba[..., 3]).filter(ImageFilter.GaussianBlur(6)))
    alpha = rgba_of(refine(encode(rgba)).files[0].data)[..., 3]
    partial = (alpha > 0) & (alpha < 255)
    inside = alpha >= 128
    edge = _dilated(inside) & ~_eroded(inside)  # within a pixel (8-neighbourhood) of the matte's outline
    assert partial.any() and not (partial & ~edge).any()


def test_rgb_without_alpha_gets_a_matte_from_the_border_colour() -> None:
    truth = np.asarray(disc_image())[..., 3] >= 128
    flattened = Image.fromarray(np.asarray(disc_image()))
    backdrop = Image.new("RGB", flattened.size, (240, 240, 240))
    backdrop.paste(flattened, mask=flattened.getchannel("A"))
    buffer = io.BytesIO()
    backdrop.save(buffer, format="JPEG", quality=90)
    output = refine(buffer.getvalue())
    matte = matte_of(output.files[0].data)
    overlap = (matte & truth).sum() / (matte | truth).sum()
    assert overlap > 0.97
    assert any("no alpha matte" in note for note in output.notes)


def test_edge_colours_carry_no_backdrop_tint() -> None:
    output = refine(
        encode(np.asarray(disc_image(alpha=False).convert("RGBA")))
    )  # opaque: keyed from the border
    rgba = rgba_of(output.files[0].data).astype(int)
    edge = (rgba[..., 3] > 0) & (rgba[..., 3] < 255)
    assert edge.any()
    assert rgba[edge, 1].max() < 60, "green backdrop leaked into the red subject's edge"
    near = _dilated(rgba[..., 3] > 0) & (rgba[..., 3] == 0)
    assert rgba[near, 1].max() < 60, "the transparent ring carries the subject's colour"


def test_off_centre_subjects_are_centred_and_tiny_ones_enlarged() -> None:
    output = refine(encode(np.asarray(disc_image(centre=(60, 190), radius=20))))
    top, bottom, left, right = bounding_box(matte_of(output.files[0].data))
    assert abs((top + bottom) / 2 - SIZE / 2) <= 1.5 and abs((left + right) / 2 - SIZE / 2) <= 1.5
    assert bottom - top >= 0.8 * SIZE
    assert any("scaled by" in note for note in output.notes)


def test_non_square_images_become_square() -> None:
    rgba = np.zeros((200, 320, 4), dtype=np.uint8)
    rgba[60:140, 100:220] = (40, 90, 200, 255)
    assert rgba_of(refine(encode(rgba)).files[0].data).shape == (320, 320, 4)


@pytest.mark.parametrize("data", [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b""])
def test_bytes_that_are_not_an_image_are_invalid_image(data: bytes) -> None:
    with pytest.raises(StepError) as caught:
        refine(data)
    assert caught.value.code == ErrorCode.INVALID_IMAGE


def test_truncated_png_is_invalid_image() -> None:
    with pytest.raises(StepError) as caught:
        refine(concept("a rock")[:2000])
    assert caught.value.code == ErrorCode.INVALID_IMAGE


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((64, 64, 4), dtype=np.uint8),  # fully transparent
        np.full((64, 64, 4), 180, dtype=np.uint8)
        | np.array([0, 0, 0, 255], dtype=np.uint8),  # opaque, uniform
        np.full((64, 64, 3), 90, dtype=np.uint8),  # no alpha, uniform
    ],
)
def test_empty_matte(image: npt.NDArray[np.uint8]) -> None:
    with pytest.raises(StepError) as caught:
        refine(encode(image))
    assert caught.value.code == ErrorCode.EMPTY_MATTE


def test_missing_input_is_invalid_input() -> None:
    backend = STEP.backends["cpu"].create()
    with pytest.raises(StepError) as caught:
        run_step_function(backend, image_request("refine", "a rock"), no_progress)
    assert caught.value.code == ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"margin": 0.9}, "input.step_options.refine.margin"),
        ({"sharpen": "lots"}, "input.step_options.refine.sharpen"),
        ({"denoise": 1}, "input.step_options.refine.denoise"),
    ],
)
def test_bad_options_are_invalid_params(params: dict[str, object], field: str) -> None:
    with pytest.raises(StepError) as caught:
        refine(concept("a rock"), params=params)
    assert caught.value.code == ErrorCode.INVALID_PARAMS
    assert caught.value.message.startswith(field)


def test_upscale_beyond_the_largest_image_is_invalid_params() -> None:
    big = encode(np.zeros((16, 2100, 4), dtype=np.uint8))
    with pytest.raises(StepError) as caught:
        refine(big, upscale=True)
    assert caught.value.code == ErrorCode.INVALID_PARAMS


def _eroded(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return ndimage.minimum_filter(mask, size=3, mode="constant", cval=False)


def _dilated(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return ndimage.maximum_filter(mask, size=3)
