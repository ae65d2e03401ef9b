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
from PIL import Image, PngImagePlugin

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
