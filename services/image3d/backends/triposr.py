"""The `triposr` backend: TripoSR (MIT weights) turns the concept image into a triplane NeRF
whose density is meshed into one closed component, coloured from the concept image and the
multiview step's views when the job has them (services/image3d/projection.py), scaled to the
subject's real size like `inflate`.

TripoSR is deterministic (no sampling): the seed does not change its output.
"""

from __future__ import annotations

import numpy as np
import torch

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
from services.image3d.concept import read_concept_image
from services.image3d.reconstruction import mesh_output, request_views
from services.image3d.triposr.checkpoint import load_triposr
from services.image3d.triposr.extraction import DENSITY_LEVEL, density_grid, surface
from services.image3d.triposr.network import Triposr
from services.image3d.triposr.options import TriposrOptions
from services.image3d.triposr.preprocess import model_input

MODEL = "triposr"
VERSION = "1"
# TripoSR's frame -> view space (u right, v up, n towards the concept camera): its input
# camera looks from +X with +Z up and +Y to the image's right. A cyclic permutation: a
# rotation, so faces keep their winding.
VIEW_AXES = [1, 2, 0]


class TriposrBackend:
    def __init__(self, context: BackendContext) -> None:
        self._context = context
        self._stored: StoredModel | None = None
        self._model: Triposr | None = None
        self._placement: TorchPlacement | None = None

    def describe(self) -> BackendInfo:
        if self._stored is not None:
            fingerprint = self._stored.fingerprint
        else:
            fingerprint = self._context.store.fingerprint(MODEL) or "absent"
        return BackendInfo("triposr", f"{VERSION}+{fingerprint}", ("vertex_colors", "watertight"))

    def load(self) -> None:
        if self._model is not None:
            return
        stored = self._context.store.verified(MODEL)
        where = placement(self._context.ml)
        self._model = load_triposr(stored.folder).to(where.device, where.dtype)
        self._stored, self._placement = stored, where

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        self.load()
        assert self._model is not None and self._placement is not None
        model, where = self._model, self._placement
        options = request.options_as(TriposrOptions)
        image = read_concept_image(request.inputs["image"].data, prompt_text(request))
        views = request_views(request)
        progress(
            0.05, f"TripoSR: encoding the {image.category} ({image.subject}) image on {where.describe()}"
        )
        pixels = model_input(image, model.config.cond_image_size, options.foreground_ratio)
        with torch.inference_mode():
            triplane = model.triplanes(pixels.to(where.device, where.dtype))[0]
        progress(0.2, f"decoding a {options.marching_cubes_resolution}^3 density grid")
        density = density_grid(
            model,
            triplane,
            options.marching_cubes_resolution,
            options.chunk_size,
            lambda fraction: progress(0.2 + 0.5 * fraction, "decoding density"),
        )
        progress(0.7, "extracting the surface")
        extracted = surface(model, density)
        positions = extracted.positions[:, VIEW_AXES]
        return mesh_output(
            positions,
            extracted.faces,
            image,
            views,
            progress,
            {
                "marching_cubes_resolution": float(options.marching_cubes_resolution),
                "inside_share": float(np.mean(density > DENSITY_LEVEL)),
            },
        )
