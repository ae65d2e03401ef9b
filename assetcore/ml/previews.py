"""Cheap previews of latents during denoising: a linear map from latent channels to RGB.

Decoding latents through the VAE at every step would cost as much as a step. Instead, once
at load, the VAE decodes a few random latents and a least-squares fit finds the linear map
from each latent pixel's channels to its 8x8 patch's mean colour. It fits whatever VAE is
loaded (SD, SDXL, fine-tunes) rather than a table measured on one of them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image

if TYPE_CHECKING:
    import torch

PREVIEW_SIDE = 128  # pixels of the preview PNG's longer side


@dataclass(frozen=True)
class LatentPreviewer:
    weights: npt.NDArray[np.float32]  # (channels + 1, 3): latent channels and a bias -> RGB in [-1, 1]

    @classmethod
    def fit(cls, vae: Any, *, samples: int = 4, side: int = 8, seed: int = 0) -> LatentPreviewer:
        """Fit to `vae` (diffusers AutoencoderKL) on `samples` random latents of side x side."""
        import torch

        channels = int(vae.config.latent_channels)
        scaling = float(vae.config.scaling_factor)
        parameter = next(vae.parameters())
        generator = torch.Generator("cpu").manual_seed(seed)
        latents = torch.randn(samples, channels, side, side, generator=generator)
        with torch.inference_mode():
            images = vae.decode(latents.to(parameter.device, parameter.dtype) / scaling).sample
        images = images.float().cpu()
        factor = images.shape[-1] // side
        patches = torch.nn.functional.avg_pool2d(images, factor)  # (samples, 3, side, side)
        x = latents.permute(0, 2, 3, 1).reshape(-1, channels).numpy()
        y = patches.permute(0, 2, 3, 1).reshape(-1, 3).numpy()
        design = np.concatenate([x, np.ones((len(x), 1), np.float32)], axis=1)
        weights, *_ = np.linalg.lstsq(design, y, rcond=None)
        return cls(weights.astype(np.float32))

    def rgb(self, latents: torch.Tensor) -> npt.NDArray[np.uint8]:
        """The first latent of a batch (channels, h, w) as an RGB image (h, w, 3)."""
        first = latents[0].detach().float().cpu().permute(1, 2, 0).numpy()
        colour = first @ self.weights[:-1] + self.weights[-1]
        image: npt.NDArray[np.uint8] = np.clip((colour + 1.0) * 127.5, 0, 255).astype(np.uint8)
        return image

    def png(self, latents: torch.Tensor) -> bytes:
        image = Image.fromarray(self.rgb(latents))
        scale = PREVIEW_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
