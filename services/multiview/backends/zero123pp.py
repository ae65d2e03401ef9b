"""The zero123pp backend: six views of the concept image from Zero123++ v1.2 (store model "zero123pp").

The views' mattes come from the store's "matte" model when it has one (optional), else from
the CPU estimate against the grey backdrop (services/multiview/views.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.geometry.preview import render_image_preview
from assetcore.ml.denoise import DenoiseProgress
from assetcore.ml.matting import MODEL_NAME as MATTE_MODEL
from assetcore.ml.matting import SubjectMatter, load_matter
from assetcore.ml.runtime import TorchPlacement, placement
from assetcore.multiview import encode_multiview_png
from assetcore.worker.backend import (
    BackendContext,
    BackendInfo,
    OutputFile,
    Progress,
    StepOutput,
    StepRequest,
)
from services.multiview.condition import condition_image
from services.multiview.options import MultiviewOptions, Zero123ppOptions
from services.multiview.views import assemble_views
from services.multiview.zero123pp.layout import load_zero123pp
from services.multiview.zero123pp.sampler import Sampling, Zero123ppSampler

MODEL = "zero123pp"
VERSION = "1"  # bump when the same weights and request can give different views
_DENOISE_SPAN = (0.05, 0.9)


@dataclass(frozen=True)
class _Loaded:
    placement: TorchPlacement
    sampler: Zero123ppSampler
    matter: SubjectMatter | None
    version: str


class Zero123ppBackend:
    def __init__(self, context: BackendContext) -> None:
        self._context = context
        self._loaded: _Loaded | None = None

    def describe(self) -> BackendInfo:
        version = self._loaded.version if self._loaded is not None else self._stored_version()
        return BackendInfo(MODEL, version, ("zero123pp-v1.2", "six-views"))

    def _stored_version(self) -> str:
        """The version the store's manifests give (no hashing): what load() will report."""
        store = self._context.store
        return _version(store.fingerprint(MODEL) or "missing", store.fingerprint(MATTE_MODEL))

    def load(self) -> None:
        self._loaded = self._load()

    def _load(self) -> _Loaded:
        where = placement(self._context.ml)
        stored = self._context.store.verified(MODEL)
        sampler = Zero123ppSampler(load_zero123pp(stored, where), where)
        matter = load_matter(self._context.store)
        version = _version(stored.fingerprint, None if matter is None else matter.fingerprint)
        return _Loaded(where, sampler, matter, version)

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        if self._loaded is None:
            self._loaded = self._load()
        loaded = self._loaded
        tile = request.options_as(MultiviewOptions).tile
        options = request.options_as(Zero123ppOptions)
        sampling = Sampling(steps=options.steps, guidance_scale=options.guidance_scale, tile=tile)
        progress(0.0, "zero123++: encoding the concept image")
        condition, notes = condition_image(request.inputs["image"].data)
        denoise = DenoiseProgress(
            progress,
            label="zero123++",
            steps=sampling.steps,
            span=_DENOISE_SPAN,
            previewer=loaded.sampler.previewer,
        )
        grid = loaded.sampler(condition, sampling, loaded.placement.generator(request.seed), denoise)
        progress(_DENOISE_SPAN[1], "matting the six views")
        multiview = assemble_views(grid, loaded.matter)
        png = encode_multiview_png(multiview)
        notes.append(
            f"mattes: {'the matte model' if loaded.matter else 'estimated against the grey backdrop'}"
        )
        shares = [float((v.rgba[..., 3] >= 128).mean()) for v in multiview.views]
        return StepOutput(
            files=[OutputFile("views", "image/png", png)],
            preview_png=render_image_preview(png),
            notes=notes,
            metrics={
                "tile": float(tile),
                "steps": float(sampling.steps),
                "guidance_scale": sampling.guidance_scale,
                "min_subject_share": min(shares),
            },
        )


def _version(model: str, matte: str | None) -> str:
    return f"{VERSION}+{model}" + ("" if matte is None else f"+matte-{matte}")
