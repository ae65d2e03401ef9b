"""The concept image as TripoSR's input: the subject cropped, centred in a square at the
foreground ratio, composited on 50% grey, resized to the model's input size (as upstream's
resize_foreground and ImagePreprocessor do, alpha instead of a background remover)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from services.image3d.concept import ConceptImage

BACKGROUND = 0.5
SUBJECT_ALPHA = 1.0 / 255.0  # upstream crops to every pixel with any alpha


def model_input(image: ConceptImage, size: int, foreground_ratio: float) -> torch.Tensor:
    """(1, 3, size, size) float32 in 0..1."""
    square = _centred_square(image.rgb, image.alpha, foreground_ratio)
    tensor = torch.from_numpy(square).permute(2, 0, 1).unsqueeze(0)
    return F.interpolate(tensor, (size, size), mode="bilinear", align_corners=False, antialias=True)


def _centred_square(
    rgb: npt.NDArray[np.float32], alpha: npt.NDArray[np.float32], ratio: float
) -> npt.NDArray[np.float32]:
    rows, cols = np.nonzero(alpha >= SUBJECT_ALPHA)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    a = alpha[top:bottom, left:right, None]
    subject = rgb[top:bottom, left:right] * a + BACKGROUND * (1.0 - a)
    side = max(subject.shape[0], subject.shape[1])
    canvas_side = max(int(side / ratio), side)
    canvas = np.full((canvas_side, canvas_side, 3), BACKGROUND, np.float32)
    y, x = (canvas_side - subject.shape[0]) // 2, (canvas_side - subject.shape[1]) // 2
    canvas[y : y + subject.shape[0], x : x + subject.shape[1]] = subject
    return canvas
