"""The concept image as image3d reads it: RGBA pixels, a subject matte, and what it shows.

The tti step describes its image in a PNG text chunk (assetcore/concept_image.py). Without
it (a reference image from elsewhere) the job prompt is analysed instead, and an image
without alpha gets its matte keyed against the colour of its border.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from assetcore.concept_image import METADATA_KEY, parse_concept_metadata
from assetcore.prompting import Category, analyse_prompt
from assetcore.worker.backend import ErrorCode, StepError

View = Literal["front", "side"]

MAX_SIDE_PX = 4096
MIN_SUBJECT_PX = 16  # fewer opaque pixels than this is an empty matte
MATTE_THRESHOLD = 0.5
BACKGROUND_KEY_DISTANCE = 0.12  # RGB distance (0..1 per channel) from the border colour
CATEGORIES: tuple[Category, ...] = ("humanoid", "quadruped", "prop")


@dataclass(frozen=True)
class ConceptImage:
    rgb: npt.NDArray[np.float32]  # (H, W, 3) sRGB in 0..1
    alpha: npt.NDArray[np.float32]  # (H, W) subject matte in 0..1
    view: View
    facing_right: bool  # side views: the head is towards the image's right ("facing": "+x")
    category: Category
    subject: str
    notes: tuple[str, ...]


def read_concept_image(data: bytes, prompt: str) -> ConceptImage:
    """Decode the image and its subject description. INVALID_IMAGE / EMPTY_MATTE on bad input."""
    image, metadata = _decode(data)
    notes: list[str] = []
    rgba = np.asarray(image.convert("RGBA"), np.float32) / 255.0
    rgb = rgba[..., :3]
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = rgba[..., 3]
    else:
        alpha = _key_background(rgb)
        notes.append("the image has no alpha channel: the subject was keyed against its border colour")
    if int(np.count_nonzero(alpha >= MATTE_THRESHOLD)) < MIN_SUBJECT_PX:
        raise StepError(ErrorCode.EMPTY_MATTE, "image: the alpha matte has no subject (no opaque pixels)")

    category, subject = _described_subject(metadata, prompt, notes)
    view = metadata.get("view")
    if view not in ("front", "side"):
        view = "side" if category == "quadruped" else "front"
    return ConceptImage(
        rgb=rgb,
        alpha=alpha,
        view=cast(View, view),
        facing_right=metadata.get("facing", "+x") != "-x",
        category=category,
        subject=subject,
        notes=tuple(notes),
    )


def _decode(data: bytes) -> tuple[Image.Image, dict[str, object]]:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if max(opened.size) > MAX_SIDE_PX:
                raise StepError(
                    ErrorCode.INVALID_IMAGE,
                    f"image: {opened.size[0]}x{opened.size[1]} px is larger than {MAX_SIDE_PX} px a side",
                )
            opened.load()
            image = opened.copy()
            text = opened.info.get(METADATA_KEY)
    except StepError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise StepError(ErrorCode.INVALID_IMAGE, f"image: bytes are not a decodable image ({exc})") from None
    return image, parse_concept_metadata(text)


def _described_subject(metadata: dict[str, object], prompt: str, notes: list[str]) -> tuple[Category, str]:
    category, subject = metadata.get("category"), metadata.get("subject")
    if category in CATEGORIES and isinstance(subject, str) and subject:
        return category, subject
    analysis = analyse_prompt(prompt)
    notes.append(
        f"the image does not say what it shows: '{analysis.subject}' ({analysis.category}) from the prompt"
    )
    return analysis.category, analysis.subject


def _key_background(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A matte for an opaque image: pixels that differ from the median border colour."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    distance = np.linalg.norm(rgb - np.median(border, axis=0), axis=2) / np.sqrt(3.0)
    return np.asarray(distance > BACKGROUND_KEY_DISTANCE, np.float32)
