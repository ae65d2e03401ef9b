"""The model-backed refine backends: an SDXL img2img redraw, an ESRGAN x2 upscale, or both.

Each composes the refine stages (services/refine/stages.py) with its models; the matting
model separates the subject wherever the store has one ("matte"), the border-colour
estimate otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.ml.matting import MODEL_NAME as MATTE
from assetcore.ml.matting import SubjectMatter, load_matter
from assetcore.ml.runtime import placement
from assetcore.ml.sdxl import load_sdxl
from assetcore.worker.backend import BackendContext, BackendInfo, Progress, StepOutput, StepRequest
from services.refine.esrgan import MODEL_NAME as ESRGAN
from services.refine.esrgan import load_esrgan
from services.refine.img2img import MODEL_NAME as SDXL
from services.refine.img2img import Img2Img
from services.refine.stages import ResampleUpscaler, Retouch, Upscaler, refine_image


@dataclass(frozen=True)
class _Loaded:
    retouch: Retouch | None
    upscaler: Upscaler
    matter: SubjectMatter | None


class MlRefineBackend:
    def __init__(self, context: BackendContext, name: str, *, img2img: bool, esrgan: bool) -> None:
        self._context = context
        self._name = name
        self._img2img = img2img
        self._esrgan = esrgan
        self._loaded: _Loaded | None = None

    def _models(self) -> list[str]:
        return [name for name, used in ((SDXL, self._img2img), (ESRGAN, self._esrgan)) if used] + [MATTE]

    def describe(self) -> BackendInfo:
        """The version names the weights of every model present, so cache keys follow them."""
        store = self._context.store
        fingerprints = ((name, store.fingerprint(name)) for name in self._models())
        weights = "+".join(f"{name}.{fp}" for name, fp in fingerprints if fp is not None)
        capabilities = ("matte-cleanup", "upscale-x2") + (("img2img",) if self._img2img else ())
        return BackendInfo(self._name, f"1+{weights}", capabilities)

    def load(self) -> None:
        self._parts()

    def _parts(self) -> _Loaded:
        """The loaded models (loading them on first use)."""
        if self._loaded is not None:
            return self._loaded
        store, where = self._context.store, placement(self._context.ml)
        retouch: Retouch | None = None
        if self._img2img:
            from diffusers import StableDiffusionXLImg2ImgPipeline

            pipe = load_sdxl(StableDiffusionXLImg2ImgPipeline, store.verified(SDXL), where)
            retouch = Img2Img(pipe, where)
        upscaler = load_esrgan(store.verified(ESRGAN), where) if self._esrgan else ResampleUpscaler()
        self._loaded = _Loaded(retouch, upscaler, load_matter(store))
        return self._loaded

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        loaded = self._parts()
        matter = loaded.matter.alpha if loaded.matter is not None else None
        return refine_image(
            request, progress, upscaler=loaded.upscaler, retouch=loaded.retouch, matter=matter
        )


def img2img(context: BackendContext) -> MlRefineBackend:
    return MlRefineBackend(context, "sdxl-img2img", img2img=True, esrgan=False)


def esrgan(context: BackendContext) -> MlRefineBackend:
    return MlRefineBackend(context, "esrgan", img2img=False, esrgan=True)


def img2img_esrgan(context: BackendContext) -> MlRefineBackend:
    return MlRefineBackend(context, "sdxl-img2img+esrgan", img2img=True, esrgan=True)
