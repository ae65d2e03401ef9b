"""The SDXL img2img pass: the concept redrawn at low strength from the job's prompt.

About `strength` x `steps` denoising steps run (diffusers skips the first ones of the
schedule); when none would, the image is kept. The image is resized to the VAE's multiple
for the pass and back after it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from assetcore.imaging.image_io import RGB8
from assetcore.ml.denoise import DenoiseProgress
from assetcore.ml.previews import LatentPreviewer
from assetcore.ml.runtime import TorchPlacement
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import Progress, StepRequest
from services.refine.options import Img2ImgOptions

MODEL_NAME = "sdxl-base"
# The refine matte separates the subject from a plain backdrop: ask the redraw to keep one.
_SUFFIX = "single object, centred, plain background"


class Img2Img:
    def __init__(self, pipe: Any, placement: TorchPlacement) -> None:
        self._pipe = pipe  # diffusers StableDiffusionXLImg2ImgPipeline, placed
        self._placement = placement
        self._previewer = LatentPreviewer.fit(pipe.vae)
        self._multiple = int(pipe.vae_scale_factor)

    def __call__(
        self, rgb: RGB8, request: StepRequest, progress: Progress, span: tuple[float, float]
    ) -> RGB8:
        options = request.options_as(Img2ImgOptions)
        # What diffusers runs of the schedule: it skips int(steps - strength * steps) steps.
        steps = options.steps - int(options.steps - options.steps * options.strength)
        if steps < 1:
            progress(span[1], "img2img: strength too low for a denoising step, image kept")
            return rgb
        height, width = rgb.shape[:2]
        size = (self._aligned(width), self._aligned(height))
        image = Image.fromarray(rgb, mode="RGB")
        tracker = DenoiseProgress(
            progress, label="img2img", steps=steps, span=span, previewer=self._previewer
        )
        result = self._pipe(
            prompt=prompt_text(request.job),
            image=image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image,
            strength=options.strength,
            num_inference_steps=options.steps,
            generator=self._placement.generator(request.seed),
            output_type="np",
            callback_on_step_end=tracker,
            callback_on_step_end_tensor_inputs=["latents"],
        )
        redrawn: RGB8 = np.round(np.clip(result.images[0], 0.0, 1.0) * 255.0).astype(np.uint8)
        if redrawn.shape[:2] == (height, width):
            return redrawn
        back = Image.fromarray(redrawn, mode="RGB").resize((width, height), Image.Resampling.LANCZOS)
        restored: RGB8 = np.asarray(back)
        return restored

    def _aligned(self, pixels: int) -> int:
        return max(self._multiple, pixels // self._multiple * self._multiple)


def prompt_text(job: job_pb2.JobInput) -> str:
    """The job's concept, details and style, and the plain backdrop the matte needs."""
    prompt = job.prompt
    style = f"{prompt.style.strip()} style" if prompt.style.strip() else ""
    parts = (prompt.concept.strip(), prompt.details.strip(), style, _SUFFIX)
    return ", ".join(part for part in parts if part)
