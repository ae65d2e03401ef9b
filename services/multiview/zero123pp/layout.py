"""The published Zero123++ v1.2 folder (sudo-ai/zero123plus-v1.2), loaded component by component.

model_index.json names each component's class and carries `ramping_coefficients`: one weight
per text token for how much of the CLIP image embedding is added to that token's embedding.
The components are loaded with diffusers' and transformers' own loaders, never through the
upstream custom pipeline class (remote code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPImageProcessor, CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection

from assetcore.ml.runtime import TorchPlacement
from assetcore.models.store import ModelError, StoredModel

MODEL_INDEX = "model_index.json"
COMPONENTS = {
    "vae": ("diffusers", "AutoencoderKL"),
    "unet": ("diffusers", "UNet2DConditionModel"),
    "scheduler": ("diffusers", "EulerAncestralDiscreteScheduler"),
    "text_encoder": ("transformers", "CLIPTextModel"),
    "tokenizer": ("transformers", "CLIPTokenizer"),
    "vision_encoder": ("transformers", "CLIPVisionModelWithProjection"),
    "feature_extractor_clip": ("transformers", "CLIPImageProcessor"),
    "feature_extractor_vae": ("transformers", "CLIPImageProcessor"),
}


@dataclass(frozen=True)
class Zero123ppModel:
    # diffusers' and transformers' classes are untyped for mypy: Any, named in comments
    vae: Any  # AutoencoderKL
    unet: Any  # UNet2DConditionModel
    scheduler_config: Any  # the scheduler's FrozenDict: a fresh scheduler per run (schedulers keep state)
    text_encoder: Any  # CLIPTextModel
    tokenizer: Any  # CLIPTokenizer
    vision_encoder: Any  # CLIPVisionModelWithProjection
    clip_processor: Any  # CLIPImageProcessor: the vision tower's input (224 px, CLIP's mean and std)
    vae_processor: Any  # CLIPImageProcessor: the condition latent's input (320 px, v1.2's range)
    ramping: torch.Tensor  # (tokens,) on the model's device and dtype


def load_zero123pp(stored: StoredModel, placement: TorchPlacement) -> Zero123ppModel:
    """Every component of a verified folder, on the placement's device, in eval mode, frozen."""
    ramping = _read_index(stored)
    folder = stored.folder
    dtype = placement.dtype
    diffusers_options: dict[str, Any] = {"torch_dtype": dtype, "local_files_only": True}
    transformers_options: dict[str, Any] = {
        "dtype": dtype,
        "attn_implementation": placement.attention,
        "local_files_only": True,
    }
    networks: dict[str, Any] = {
        "vae": AutoencoderKL.from_pretrained(folder / "vae", **diffusers_options),
        "unet": UNet2DConditionModel.from_pretrained(folder / "unet", **diffusers_options),
        "text_encoder": CLIPTextModel.from_pretrained(folder / "text_encoder", **transformers_options),
        "vision_encoder": CLIPVisionModelWithProjection.from_pretrained(
            folder / "vision_encoder", **transformers_options
        ),
    }
    for network in networks.values():
        network.to(placement.device).eval().requires_grad_(False)
    _check_widths(stored, networks, len(ramping))
    return Zero123ppModel(
        **networks,
        scheduler_config=EulerAncestralDiscreteScheduler.from_pretrained(
            folder / "scheduler", local_files_only=True
        ).config,
        tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True),
        clip_processor=CLIPImageProcessor.from_pretrained(
            folder / "feature_extractor_clip", local_files_only=True
        ),
        vae_processor=CLIPImageProcessor.from_pretrained(
            folder / "feature_extractor_vae", local_files_only=True
        ),
        ramping=torch.tensor(ramping, dtype=dtype, device=placement.device),
    )


def _check_widths(stored: StoredModel, networks: dict[str, Any], coefficients: int) -> None:
    """The image embedding is added to every text token's embedding, which the UNet attends to."""
    text = networks["text_encoder"].config
    tokens, width = int(text.max_position_embeddings), int(text.hidden_size)
    if coefficients != tokens:
        raise ModelError(
            _problem(stored, f"has {coefficients} ramping coefficients for {tokens} text tokens")
        )
    projection = int(networks["vision_encoder"].config.projection_dim)
    attended = int(networks["unet"].config.cross_attention_dim)
    if not projection == width == attended:
        raise ModelError(
            f"model {stored.manifest.name!r}: {stored.folder} has an image embedding of {projection}, "
            f"text embeddings of {width} and a UNet attending to {attended} channels: they must agree"
        )


def _read_index(stored: StoredModel) -> list[float]:
    """The ramping coefficients, after checking that every component is the class we load."""
    try:
        index = json.loads(stored.file(MODEL_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(_problem(stored, f"is not readable JSON ({exc})")) from None
    if not isinstance(index, dict):
        raise ModelError(_problem(stored, "is not a JSON object"))
    for name, expected in COMPONENTS.items():
        declared = index.get(name)
        if declared is None or tuple(declared) != expected:
            raise ModelError(_problem(stored, f"declares {name} as {declared}, expected {list(expected)}"))
    ramping = index.get("ramping_coefficients")
    if not isinstance(ramping, list) or not all(isinstance(r, int | float) for r in ramping):
        raise ModelError(
            _problem(stored, "has no list of numbers 'ramping_coefficients' (a v1.2 folder has)")
        )
    return [float(r) for r in ramping]


def _problem(stored: StoredModel, what: str) -> str:
    return f"model {stored.manifest.name!r}: {stored.file(MODEL_INDEX)} {what}"
