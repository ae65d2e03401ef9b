"""The x2 upscale through an ESRGAN-family x4 model (store "esrgan-x4"), loaded with spandrel.

The store folder holds one RRDBNet state dict, `.safetensors` or `.pth` (Real-ESRGAN's
`RealESRGAN_x4plus.pth`, whose weights sit under "params_ema", loads as is). The model's x4
colour is reduced to the x2 the refine step promises with Lanczos, which also averages away
some of the model's artefacts; the alpha is not the model's business: it is resampled and
re-edged, as the colour is bled to it, so the matte stays consistent with the colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from assetcore.imaging.image_io import RGB8, Alpha
from assetcore.ml.runtime import TorchPlacement
from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from assetcore.models.store import ModelError, StoredModel
from services.refine.options import RefineOptions
from services.refine.resample import rematted
from services.refine.stages import Colour

MODEL_NAME = "esrgan-x4"
_WEIGHTS = (".safetensors", ".pth", ".pt")
_TILE = 512  # input pixels a side run at once: bounds the GPU memory of large images
_OVERLAP = 16  # input pixels of context around each tile, cropped from its output


class EsrganUpscaler:
    label = "upscaled x2 (ESRGAN)"

    def __init__(self, model: Any, scale: int, placement: TorchPlacement, *, tile: int = _TILE) -> None:
        self._model = model  # (1, 3, h, w) in 0..1 -> (1, 3, h * scale, w * scale)
        self._scale = scale
        self._placement = placement
        self._tile = tile

    def __call__(
        self, rgb: RGB8, alpha: Alpha, backdrop: Colour, options: RefineOptions
    ) -> tuple[RGB8, Alpha]:
        import torch

        height, width = rgb.shape[:2]
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        with torch.inference_mode():
            large = self._tiled(image.to(self._placement.device, self._placement.dtype) / 255.0)
        colour = (large[0].float().clamp(0.0, 1.0) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()
        reduced = Image.fromarray(colour, mode="RGB").resize(
            (2 * width, 2 * height), Image.Resampling.LANCZOS
        )
        return rematted(np.asarray(reduced), alpha, backdrop)

    def _tiled(self, image: Any) -> Any:
        """The model's output, computed tile by tile with overlapping context."""
        _, _, height, width = image.shape
        scale = self._scale
        out = image.new_zeros((1, 3, height * scale, width * scale))
        for top in range(0, height, self._tile):
            for left in range(0, width, self._tile):
                bottom, right = min(height, top + self._tile), min(width, left + self._tile)
                y0, x0 = max(0, top - _OVERLAP), max(0, left - _OVERLAP)
                y1, x1 = min(height, bottom + _OVERLAP), min(width, right + _OVERLAP)
                tile = self._model(image[:, :, y0:y1, x0:x1])
                crop = tile[
                    :,
                    :,
                    (top - y0) * scale : (bottom - y0) * scale,
                    (left - x0) * scale : (right - x0) * scale,
                ]
                out[:, :, top * scale : bottom * scale, left * scale : right * scale] = crop
        return out


def load_esrgan(stored: StoredModel, placement: TorchPlacement) -> EsrganUpscaler:
    """The verified store model as an upscaler; ModelError when spandrel does not take it."""
    ensure_torchvision_importable()
    from spandrel import ImageModelDescriptor, ModelLoader

    path = _weights_file(stored)
    try:
        descriptor = ModelLoader().load_from_file(path)
    except Exception as exc:  # spandrel and torch raise many kinds for unreadable or unknown weights
        raise ModelError(f"model {MODEL_NAME!r}: {path} is not a loadable ESRGAN model: {exc}") from exc
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.architecture.id != "ESRGAN":
        raise ModelError(f"model {MODEL_NAME!r}: {path} holds {descriptor.architecture.name}, not ESRGAN")
    if descriptor.scale < 2:
        raise ModelError(f"model {MODEL_NAME!r}: {path} upscales x{descriptor.scale}; at least x2 is needed")
    descriptor.to(placement.device, placement.dtype).eval()
    return EsrganUpscaler(descriptor, descriptor.scale, placement)


def _weights_file(stored: StoredModel) -> Path:
    found = [f.path for f in stored.manifest.files if f.path.endswith(_WEIGHTS)]
    if len(found) != 1:
        raise ModelError(
            f"model {MODEL_NAME!r}: {stored.folder} must hold one weights file ({', '.join(_WEIGHTS)}), "
            f"found {found or 'none'}"
        )
    return stored.file(found[0])


def build_tiny_esrgan(folder: Path) -> None:
    """A tiny random x4 RRDBNet in Real-ESRGAN's key layout (8 features, one block, growth 32)."""
    import torch
    from safetensors.torch import save_file

    features, growth = 8, 32  # spandrel's RRDBNet fixes the growth channels at 32
    generator = torch.Generator().manual_seed(0)
    state: dict[str, torch.Tensor] = {}

    def conv(name: str, inputs: int, outputs: int) -> None:
        state[f"{name}.weight"] = torch.randn(outputs, inputs, 3, 3, generator=generator) * 0.05
        state[f"{name}.bias"] = torch.zeros(outputs)

    conv("conv_first", 3, features)
    for rdb in (1, 2, 3):
        for index in range(1, 5):
            conv(f"body.0.rdb{rdb}.conv{index}", features + (index - 1) * growth, growth)
        conv(f"body.0.rdb{rdb}.conv5", features + 4 * growth, features)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        conv(name, features, features)
    conv("conv_last", features, 3)
    save_file(state, str(folder / "model.safetensors"))
