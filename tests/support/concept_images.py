"""Small synthetic concept images (RGBA PNG) like the tti step writes, for image3d tests and
the retopo benchmark: a front-view humanoid (mirror-symmetric), a side-view quadruped
facing right, and a front-view chest, each with the "assetcore" PNG text chunk."""

from __future__ import annotations

import io
import json

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, PngImagePlugin

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1) as fractions of the canvas

BACKGROUND = (235, 235, 235)
ARMOR = (170, 30, 28)
SKIN = (226, 180, 150)
FUR = (120, 120, 125)
WOOD = (120, 78, 40)
METAL = (200, 170, 60)


def png(image: Image.Image, **metadata: str) -> bytes:
    """Encode, with the tti step's metadata chunk ("view", "category", "subject", "facing")
    when any is given."""
    info = PngImagePlugin.PngInfo()
    if metadata:
        info.add_text("assetcore", json.dumps(metadata))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (size, size), (*BACKGROUND, 0))
    return image, ImageDraw.Draw(image)


def _scaled(box: Box, size: int) -> tuple[float, float, float, float]:
    return (box[0] * size, box[1] * size, box[2] * size - 1, box[3] * size - 1)


def humanoid_image(size: int = 128) -> Image.Image:
    """A mirror-symmetric figure in an A-pose: head, torso, arms, legs apart."""
    image, draw = _canvas(size)
    for box in [(0.38, 0.3, 0.62, 0.58), (0.41, 0.56, 0.49, 0.94), (0.51, 0.56, 0.59, 0.94)]:
        draw.rectangle(_scaled(box, size), fill=(*ARMOR, 255))
    for sign in (-1.0, 1.0):
        shoulder, hand = 0.5 + sign * 0.11, 0.5 + sign * 0.27
        points = [(shoulder, 0.31), (hand, 0.6), (hand - sign * 0.06, 0.62), (shoulder - sign * 0.02, 0.4)]
        draw.polygon([(x * size, y * size) for x, y in points], fill=(*ARMOR, 255))
    draw.ellipse(_scaled((0.43, 0.1, 0.57, 0.33), size), fill=(*SKIN, 255))
    return _mirror_left_half(image)


def _mirror_left_half(image: Image.Image) -> Image.Image:
    """Exact mirror symmetry, which drawing with rounded coordinates does not guarantee."""
    pixels = np.array(image)
    half = pixels.shape[1] // 2
    pixels[:, pixels.shape[1] - half :] = pixels[:, :half][:, ::-1]
    return Image.fromarray(pixels, mode="RGBA")


def quadruped_image(size: int = 128, *, four_legs: bool = False) -> Image.Image:
    """A side view facing right: body, neck and head, tail, and at each end one leg (the near
    and far legs overlapping) or, with `four_legs`, two legs that part below the body."""
    image, draw = _canvas(size)
    fur = (*FUR, 255)
    draw.ellipse(_scaled((0.18, 0.35, 0.78, 0.62), size), fill=fur)
    draw.ellipse(_scaled((0.68, 0.22, 0.9, 0.42), size), fill=fur)
    draw.polygon(
        [(x * size, y * size) for x, y in [(0.62, 0.4), (0.74, 0.28), (0.8, 0.36), (0.7, 0.5)]], fill=fur
    )
    draw.polygon(
        [(x * size, y * size) for x, y in [(0.2, 0.42), (0.06, 0.5), (0.08, 0.54), (0.22, 0.48)]], fill=fur
    )
    for x in (0.27, 0.64):
        if four_legs:
            for foot in (x - 0.05, x + 0.05):
                corners = [(x - 0.03, 0.5), (x + 0.03, 0.5), (foot + 0.03, 0.85), (foot - 0.03, 0.85)]
                draw.polygon([(a * size, b * size) for a, b in corners], fill=fur)
        else:
            draw.rectangle(_scaled((x, 0.5, x + 0.08, 0.85), size), fill=fur)
    return image


def chest_image(size: int = 128) -> Image.Image:
    """A front view of a chest: a wooden box with a rounded lid and a metal lock."""
    image, draw = _canvas(size)
    draw.rectangle(_scaled((0.15, 0.42, 0.85, 0.8), size), fill=(*WOOD, 255))
    draw.chord(_scaled((0.15, 0.26, 0.85, 0.58), size), 180, 360, fill=(*WOOD, 255))
    draw.rectangle(_scaled((0.46, 0.45, 0.54, 0.56), size), fill=(*METAL, 255))
    return image


def humanoid_png(size: int = 128) -> bytes:
    return png(humanoid_image(size), view="front", category="humanoid", subject="knight")


def quadruped_png(size: int = 128, *, facing_left: bool = False, four_legs: bool = False) -> bytes:
    image = quadruped_image(size, four_legs=four_legs)
    if facing_left:
        return png(
            image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            view="side",
            category="quadruped",
            subject="wolf",
            facing="-x",
        )
    return png(image, view="side", category="quadruped", subject="wolf", facing="+x")


def chest_png(size: int = 128) -> bytes:
    return png(chest_image(size), view="front", category="prop", subject="chest")


def is_mirror_symmetric(image: Image.Image) -> bool:
    pixels: npt.NDArray[np.uint8] = np.asarray(image)
    return bool(np.array_equal(pixels, pixels[:, ::-1]))
