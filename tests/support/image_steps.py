"""Requests and matte measurements for the image steps' tests (tti, refine)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepRequest
from tests.support.steps import step_request


def image_request(
    step: str,
    prompt: str = "a knight",
    *,
    params: dict[str, Any] | None = None,
    seed: int = 7,
    style: str = "",
    upscale: bool = False,
    image: bytes | None = None,
) -> StepRequest:
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt, style=style), upscale=upscale, seed=seed)
    inputs = {} if image is None else {"image": InputFile("image", "image/png", image, "0" * 64)}
    return step_request(step, job, params, seed, inputs)


def rgba_of(png: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


def matte_of(png: bytes) -> npt.NDArray[np.bool_]:
    return rgba_of(png)[..., 3] >= 128


def components(matte: npt.NDArray[np.bool_]) -> list[int]:
    """Areas of the matte's 8-connected components, largest first."""
    labels, count = ndimage.label(matte, structure=np.ones((3, 3), dtype=bool))
    return sorted(np.bincount(labels.ravel())[1:].tolist(), reverse=True) if count else []


def bounding_box(matte: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), bottom and right exclusive."""
    rows, cols = np.nonzero(matte)
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def runs(line: npt.NDArray[np.bool_]) -> int:
    """How many separate stretches of True a row or column has."""
    padded = np.concatenate([[False], line, [False]])
    return int(np.count_nonzero(padded[1:] & ~padded[:-1]))
