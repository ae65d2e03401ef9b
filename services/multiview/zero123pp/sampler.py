"""Zero123++ v1.2 sampling: a condition image in, the 3 x 2 grid of six views out (RGB).

Conditioning, as published:
- the text embedding of the empty prompt, plus the CLIP image embedding scaled per token by
  the ramping coefficients (the unguided half of a guided batch keeps the bare text embedding);
- reference-only attention (reference.py) on the condition image's VAE latent, noised to the
  current step's level each step; the unguided half refers to the latent of a uniform grey image.
v1.2 works in a rescaled space: the UNet generates latents (z - 0.22) * 0.75, and the VAE
sees images scaled by 0.5 / 0.8 around grey (its feature extractor's std of 0.8 does the
input side). Every random draw comes from the caller's generator, so a seed fixes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from diffusers import EulerAncestralDiscreteScheduler
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from assetcore.ml.previews import LatentPreviewer
from assetcore.ml.runtime import TorchPlacement
from assetcore.multiview import COLUMNS, ROWS
from services.multiview.zero123pp.layout import Zero123ppModel
from services.multiview.zero123pp.reference import ReferenceUNet

LATENT_SHIFT, LATENT_SCALE = 0.22, 0.75  # generated latents are (z - shift) * scale
IMAGE_SCALE = 0.5 / 0.8  # the VAE's images are the views' scaled by this around grey
# diffusers' callback_on_step_end: (pipeline, step index, timestep, {"latents": ...}) -> tensors
StepCallback = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Sampling:
    steps: int
    guidance_scale: float  # 1 or less: no classifier-free guidance
    tile: int  # each view's side in pixels

    @property
    def guided(self) -> bool:
        return self.guidance_scale > 1.0


class Zero123ppSampler:
    def __init__(self, model: Zero123ppModel, placement: TorchPlacement) -> None:
        self.model = model
        self._device = placement.device
        self._dtype = placement.dtype
        self._unet = ReferenceUNet(model.unet, eager=placement.attention == "eager")
        self._scale_factor = 2 ** (len(model.vae.config.block_out_channels) - 1)
        with torch.inference_mode():
            self._empty_prompt = self._encode_empty_prompt()
            self.previewer = _rescaled_previewer(LatentPreviewer.fit(model.vae))

    def __call__(
        self, condition: Image.Image, sampling: Sampling, generator: torch.Generator, on_step: StepCallback
    ) -> npt.NDArray[np.uint8]:
        """The (ROWS * tile, COLUMNS * tile, 3) grid of views of an RGB condition image on grey."""
        with torch.inference_mode():
            embeddings = self._embeddings(condition, sampling.guided)
            reference = self._reference_latents(condition, sampling.guided, generator)
            latents = self._denoise(embeddings, reference, sampling, generator, on_step)
            return self._decode(latents)

    def _encode_empty_prompt(self) -> torch.Tensor:
        tokenizer = self.model.tokenizer
        ids = tokenizer(
            "",
            padding="max_length",
            max_length=tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        hidden: torch.Tensor = self.model.text_encoder(ids.to(self._device))[0]
        return hidden

    def _embeddings(self, condition: Image.Image, guided: bool) -> torch.Tensor:
        pixels = self.model.clip_processor(images=condition, return_tensors="pt").pixel_values
        image = self.model.vision_encoder(pixels.to(self._device, self._dtype)).image_embeds
        conditioned = self._empty_prompt + image[:, None, :] * self.model.ramping[None, :, None]
        return torch.cat([self._empty_prompt, conditioned]) if guided else conditioned

    def _reference_latents(
        self, condition: Image.Image, guided: bool, generator: torch.Generator
    ) -> torch.Tensor:
        pixels = self.model.vae_processor(images=condition, return_tensors="pt").pixel_values
        pixels = pixels.to(self._device, self._dtype)
        if guided:
            pixels = torch.cat([torch.zeros_like(pixels), pixels])
        latents: torch.Tensor = self.model.vae.encode(pixels).latent_dist.sample(generator)
        return latents

    def _denoise(
        self,
        embeddings: torch.Tensor,
        reference: torch.Tensor,
        sampling: Sampling,
        generator: torch.Generator,
        on_step: StepCallback,
    ) -> torch.Tensor:
        # upstream's advice: trailing timestep spacing (the folder's config says linspace)
        scheduler: Any = EulerAncestralDiscreteScheduler.from_config(
            self.model.scheduler_config, timestep_spacing="trailing"
        )
        scheduler.set_timesteps(sampling.steps, device=self._device)
        side = sampling.tile // self._scale_factor
        shape = (1, int(self.model.unet.config.in_channels), ROWS * side, COLUMNS * side)
        latents = randn_tensor(
            shape, generator=generator, device=torch.device(self._device), dtype=self._dtype
        )
        latents = latents * scheduler.init_noise_sigma
        for index, timestep in enumerate(scheduler.timesteps):
            batch = torch.cat([latents, latents]) if sampling.guided else latents
            batch = scheduler.scale_model_input(batch, timestep)
            prediction = self._unet(
                batch, self._noised(scheduler, reference, timestep, generator), timestep, embeddings
            )
            if sampling.guided:
                unguided, conditioned = prediction.chunk(2)
                prediction = unguided + sampling.guidance_scale * (conditioned - unguided)
            latents = scheduler.step(prediction, timestep, latents, generator=generator).prev_sample
            latents = on_step(self, index, timestep, {"latents": latents})["latents"]
        denoised: torch.Tensor = latents
        return denoised

    def _noised(
        self,
        scheduler: Any,  # EulerAncestralDiscreteScheduler
        reference: torch.Tensor,
        timestep: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """The reference latent at this step's noise level, scaled as the UNet's input."""
        noise = randn_tensor(
            reference.shape, generator=generator, device=reference.device, dtype=reference.dtype
        )
        noisy = scheduler.add_noise(reference, noise, timestep.reshape(1))
        scaled: torch.Tensor = scheduler.scale_model_input(noisy, timestep)
        return scaled

    def _decode(self, latents: torch.Tensor) -> npt.NDArray[np.uint8]:
        vae = self.model.vae
        latents = latents / LATENT_SCALE + LATENT_SHIFT
        image = vae.decode(latents / vae.config.scaling_factor).sample / IMAGE_SCALE
        rgb = ((image[0].float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
        grid: npt.NDArray[np.uint8] = rgb.permute(1, 2, 0).cpu().numpy()
        return grid


def _rescaled_previewer(fitted: LatentPreviewer) -> LatentPreviewer:
    """The VAE's linear preview, re-expressed for v1.2's rescaled latents and images.

    The fit maps z to an image in the VAE's range; the sampler's latents are (z - shift) * scale
    and its images are the VAE's divided by IMAGE_SCALE: both maps are affine, so the composite is.
    """
    weights, bias = fitted.weights[:-1], fitted.weights[-1]
    rescaled = np.vstack([weights / LATENT_SCALE, bias + LATENT_SHIFT * weights.sum(axis=0)]) / IMAGE_SCALE
    return LatentPreviewer(rescaled.astype(np.float32))
