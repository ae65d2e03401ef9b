"""The concept image format between steps: an RGBA PNG with a text chunk saying what it shows.

Every tti backend writes it; refine keeps the chunk; image3d reads it to know how to inflate
the silhouette. The chunk "assetcore" holds JSON {"view": "front"|"side", "category",
"subject", "symmetric", and for side views "facing": "+x"|"-x" (where the head points)}.
"""

from __future__ import annotations

import io
import json

import numpy as np
import numpy.typing as npt
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from assetcore.worker.backend import ErrorCode, StepError, StepOutput

METADATA_KEY = "assetcore"


def concept_metadata(*, view: str, category: str, subject: str, symmetric: bool) -> dict[str, object]:
    metadata: dict[str, object] = {
        "view": view,
        "category": category,
        "subject": subject,
        "symmetric": symmetric,
    }
    if view == "side":
        metadata["facing"] = "+x"  # the head is towards the image's right
    return metadata


def encode_concept_png(rgba: npt.NDArray[np.uint8], metadata: dict[str, object]) -> bytes:
    """Deterministic bytes: no timestamps, sorted JSON, fixed compression."""
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps(metadata, sort_keys=True, separators=(",", ":")))
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def parse_concept_metadata(text: object) -> dict[str, object]:
    """The chunk's JSON from its text, or {} when it is missing or malformed."""
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_concept_metadata(png: bytes) -> dict[str, object]:
    """The chunk's JSON, or {} when the image has none."""
    with Image.open(io.BytesIO(png)) as image:
        return parse_concept_metadata(getattr(image, "text", {}).get(METADATA_KEY))


def output_matte(output: StepOutput, side: int, step: str) -> npt.NDArray[np.uint8]:
    """Quality gate of the image steps: their "image" output is a side x side RGBA PNG.

    Returns its alpha channel; a backend that breaks the format is an INTERNAL error.
    """
    image_file = next((f for f in output.files if f.name == "image"), None)
    if image_file is None:
        raise StepError(ErrorCode.INTERNAL, f"{step}: the backend returned no 'image' output")
    try:
        with Image.open(io.BytesIO(image_file.data)) as image:
            mode, size = image.mode, image.size
            alpha = np.asarray(image.getchannel("A")) if mode == "RGBA" else None
    except (UnidentifiedImageError, OSError) as exc:
        raise StepError(ErrorCode.INTERNAL, f"{step}: the backend's image is not a PNG ({exc})") from None
    if alpha is None or size != (side, side):
        raise StepError(ErrorCode.INTERNAL, f"{step}: expected a {side}x{side} RGBA image, got {size} {mode}")
    return alpha
