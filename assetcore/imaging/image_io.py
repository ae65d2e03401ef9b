"""Decode any image into colour + optional alpha, and write the refined PNG with its text chunks."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from assetcore.worker.backend import ErrorCode, StepError

MIN_SIDE, MAX_SIDE = 16, 4096
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)
RGB8 = npt.NDArray[np.uint8]
Alpha = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SourceImage:
    rgb: RGB8  # (H, W, 3)
    alpha: Alpha | None  # (H, W) 0..1; None when the image has no usable matte (none, or all opaque)
    text: dict[str, str] = field(default_factory=dict)  # PNG text chunks, kept on the output


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone; INVALID_IMAGE as `decode_image`."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return _checked_size(image)
    except StepError:
        raise
    except _DECODE_ERRORS as exc:
        raise StepError(ErrorCode.INVALID_IMAGE, f"image: not a decodable image ({exc})") from None


def decode_image(data: bytes) -> SourceImage:
    """INVALID_IMAGE for bytes that are not an image, or one too small or too large."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            _checked_size(image)
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            rgba = np.asarray(image.convert("RGBA"))
            text = {k: v for k, v in getattr(image, "text", {}).items() if isinstance(v, str)}
    except StepError:
        raise
    except _DECODE_ERRORS as exc:
        raise StepError(ErrorCode.INVALID_IMAGE, f"image: not a decodable image ({exc})") from None
    alpha = rgba[..., 3].astype(np.float32) / 255.0 if has_alpha else None
    if alpha is not None and alpha.min() >= 254.0 / 255.0:
        alpha = None  # an opaque alpha says nothing about the subject
    return SourceImage(np.ascontiguousarray(rgba[..., :3]), alpha, text)


def _checked_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        message = f"image: {width}x{height} px; each side must be {MIN_SIDE}..{MAX_SIDE} px"
        raise StepError(ErrorCode.INVALID_IMAGE, message)
    return width, height


def encode_png(rgb: RGB8, alpha: Alpha, text: dict[str, str]) -> bytes:
    """Deterministic bytes: the source's text chunks in sorted order, no timestamps."""
    rgba = np.dstack([rgb, np.round(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)])
    info = PngImagePlugin.PngInfo()
    for key in sorted(text):
        info.add_text(key, text[key])
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()
