"""The condition image Zero123++ expects: the subject on its uniform grey, square, RGB.

Upstream composites an RGBA input onto grey 127 (the colour the SD VAE decodes a zero latent
to, and the backdrop Zero123++ paints its views on); a non-square image is padded, not
cropped, so the CLIP preprocessors' centre crop keeps the whole subject.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from assetcore.imaging.image_io import decode_image

GREY = 127


def condition_image(data: bytes) -> tuple[Image.Image, list[str]]:
    """The condition image from a concept PNG, and notes on what was assumed."""
    source = decode_image(data)
    notes = []
    rgb = source.rgb.astype(np.float32)
    if source.alpha is None:
        notes.append("image: no alpha matte, so its own backdrop was kept instead of Zero123++'s grey")
    else:
        alpha = source.alpha[..., None]
        rgb = rgb * alpha + GREY * (1.0 - alpha)
    height, width = rgb.shape[:2]
    side = max(height, width)
    square = np.full((side, side, 3), GREY, np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = rgb
    return Image.fromarray(np.round(square).astype(np.uint8), mode="RGB"), notes
