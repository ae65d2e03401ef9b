"""The `hunyuan3d` backend: Hunyuan3D-2's shape model (Tencent Hunyuan Community licence) turns
the concept image into occupancy logits, meshed into one closed component (field_mesh.py),
coloured from the concept image and the multiview step's views when the job has them
(projection.py replaces Hunyuan3D's "paint" pipeline, which needs CUDA-only extensions), and
scaled to the subject's real size like `inflate`.

Hunyuan3D's frame is the concept camera's: +X the image's right, +Y up, +Z towards the
camera (its texture pipeline renders the front view from there), which is the frame
projection.py and inflate's `to_model_space` take. Progress: after every denoising step and
every ~2 % of the grid's decoding; a cancelled job stops at the next of those.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from assetcore.ml.runtime import TorchPlacement, placement
from assetcore.models.store import StoredModel
from assetcore.worker.backend import (
    BackendContext,
    BackendInfo,
    Progress,
    StepOutput,
    StepRequest,
)
from services.image3d.backends.inflate import prompt_text
from services.image3d.concept import ConceptImage, read_concept_image
from services.image3d.field_mesh import extract_surface
from services.image3d.hunyuan.options import Hunyuan3dOptions
from services.image3d.hunyuan.pipeline import BOX, LEVEL, load_pipeline, occupancy_grid
from services.image3d.reconstruction import mesh_output, request_views

MODEL = "hunyuan3d-dit"
VERSION = "1"
NAME = "hunyuan3d"


class Hunyuan3dBackend:
    def __init__(self, context: BackendContext) -> None:
        self._context = context
        self._stored: StoredModel | None = None
        self._pipeline: Any = None  # hy3dgen's Hunyuan3DDiTFlowMatchingPipeline
        self._placement: TorchPlacement | None = None

    def describe(self) -> BackendInfo:
        if self._stored is not None:
            fingerprint = self._stored.fingerprint
        else:
            fingerprint = self._context.store.fingerprint(MODEL) or "absent"
        return BackendInfo(NAME, f"{VERSION}+{fingerprint}", ("vertex_colors", "watertight"))

    def load(self) -> None:
        if self._pipeline is not None:
            return
        stored = self._context.store.verified(MODEL)
        where = placement(self._context.ml)
        self._pipeline = load_pipeline(stored, where)
        self._stored, self._placement = stored, where

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        self.load()
        assert self._placement is not None
        where = self._placement
        options = request.options_as(Hunyuan3dOptions)
        image = read_concept_image(request.inputs["image"].data, prompt_text(request))
        views = request_views(request)
        steps = options.inference_steps
        progress(
            0.05,
            f"Hunyuan3D-2: {steps} steps for the {image.category} ({image.subject}) on {where.describe()}",
        )
        grid = occupancy_grid(
            self._pipeline,
            _rgba(image),
            options,
            where.generator(request.seed),
            lambda index: progress(0.1 + 0.5 * (index + 1) / steps, f"denoising step {index + 1}/{steps}"),
            lambda share: progress(0.6 + 0.2 * share, f"decoding a {options.octree_resolution + 1}^3 grid"),
        )
        progress(0.8, "extracting the surface")
        surface = extract_surface(grid, LEVEL, lower=(-BOX,) * 3, upper=(BOX,) * 3, backend=NAME)
        return mesh_output(
            surface.positions,
            surface.faces,
            image,
            views,
            progress,
            {
                "octree_resolution": float(options.octree_resolution),
                "inference_steps": float(steps),
                "inside_share": float(np.mean(grid > LEVEL)),
            },
        )


def _rgba(image: ConceptImage) -> Image.Image:
    """The concept image as hy3dgen takes it: RGBA, so its own recentring uses our matte."""
    rgba = np.dstack([image.rgb, image.alpha])
    return Image.fromarray(np.round(np.clip(rgba, 0.0, 1.0) * 255.0).astype(np.uint8), "RGBA")
