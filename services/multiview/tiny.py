"""A tiny random-weight Zero123++ v1.2 in the published folder layout (sudo-ai/zero123plus-v1.2).

    model_index.json                 component classes and the 77 ramping coefficients
    vae/ unet/                       diffusers config.json + diffusion_pytorch_model.safetensors
    text_encoder/ vision_encoder/    transformers config.json + model.safetensors
    tokenizer/                       CLIP BPE: vocab.json, merges.txt, tokenizer_config.json
    scheduler/scheduler_config.json  EulerAncestralDiscreteScheduler, v-prediction
    feature_extractor_clip/ feature_extractor_vae/   preprocessor_config.json

Same architectures as the published model (SD2-style UNet with linear projections, a VAE
that downsamples by 8, CLIP text and vision towers whose widths match), a few channels wide.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assetcore.ml.torchvision_compat import ensure_torchvision_importable

TEXT_TOKENS = 77  # CLIP's context: one ramping coefficient per token
_WIDTH = 32  # text and vision hidden size, the UNet's cross-attention width
_VAE_SIDE = 64  # the tiny condition image's side (the published one is 320)
_CLIP_SIDE = 32  # the tiny vision tower's input side (the published one is 224)
_BOS, _EOS = "<|startoftext|>", "<|endoftext|>"
_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def build_zero123pp(folder: Path) -> None:
    ensure_torchvision_importable()  # transformers and diffusers import it
    import torch

    torch.manual_seed(0)
    _write_json(folder / "model_index.json", _model_index(torch.linspace(0.0, 1.0, TEXT_TOKENS).tolist()))
    _write_vae(folder / "vae")
    _write_unet(folder / "unet")
    vocab = _write_tokenizer(folder / "tokenizer")
    _write_text_encoder(folder / "text_encoder", vocab)
    _write_vision_encoder(folder / "vision_encoder")
    _write_scheduler(folder / "scheduler")
    _write_processor(folder / "feature_extractor_clip", _CLIP_SIDE, _CLIP_MEAN, _CLIP_STD)
    # v1.2 feeds the VAE pixels in [-0.625, 0.625]: (x - 0.5) / 0.8
    _write_processor(folder / "feature_extractor_vae", _VAE_SIDE, [0.5] * 3, [0.8] * 3)


def _model_index(ramping: list[float]) -> dict[str, Any]:
    return {
        "_class_name": ["pipeline", "Zero123PlusPipeline"],
        "_diffusers_version": "0.20.2",
        "feature_extractor_clip": ["transformers", "CLIPImageProcessor"],
        "feature_extractor_vae": ["transformers", "CLIPImageProcessor"],
        "ramping_coefficients": [round(r, 6) for r in ramping],
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "vision_encoder": ["transformers", "CLIPVisionModelWithProjection"],
    }


def _write_vae(folder: Path) -> None:
    from diffusers import AutoencoderKL

    vae: Any = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=_VAE_SIDE,
        scaling_factor=0.18215,
    )
    vae.save_pretrained(folder)


def _write_unet(folder: Path) -> None:
    from diffusers import UNet2DConditionModel

    unet: Any = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=_WIDTH,
        attention_head_dim=(2, 4),
        norm_num_groups=8,
        use_linear_projection=True,
    )
    unet.save_pretrained(folder)


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (GPT-2's table)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    shifted = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(shifted)}
    return [table[b] for b in range(256)]


def _write_tokenizer(folder: Path) -> dict[str, int]:
    """A hand-made CLIP vocabulary: every byte alone and word-final, no merges."""
    folder.mkdir()
    symbols = _byte_symbols()
    tokens = [*symbols, *(f"{s}</w>" for s in symbols), _BOS, _EOS]
    vocab = {token: index for index, token in enumerate(tokens)}
    _write_json(folder / "vocab.json", vocab)
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    special = {"bos_token": _BOS, "eos_token": _EOS, "unk_token": _EOS, "pad_token": _EOS}
    _write_json(folder / "special_tokens_map.json", special)
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": TEXT_TOKENS,
        "do_lower_case": True,
        **special,
    }
    _write_json(folder / "tokenizer_config.json", config)
    return vocab


def _write_text_encoder(folder: Path, vocab: dict[str, int]) -> None:
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(vocab),
        hidden_size=_WIDTH,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=TEXT_TOKENS,
        projection_dim=_WIDTH,
        hidden_act="gelu",
        bos_token_id=vocab[_BOS],
        eos_token_id=vocab[_EOS],
        pad_token_id=vocab[_EOS],
    )
    CLIPTextModel(config).save_pretrained(folder)


def _write_vision_encoder(folder: Path) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=_WIDTH,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=_CLIP_SIDE,
        patch_size=8,
        projection_dim=_WIDTH,  # the image embedding is added to the text embedding
        hidden_act="gelu",
    )
    CLIPVisionModelWithProjection(config).save_pretrained(folder)


def _write_scheduler(folder: Path) -> None:
    from diffusers import EulerAncestralDiscreteScheduler

    scheduler: Any = EulerAncestralDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="v_prediction",
        steps_offset=1,
    )
    scheduler.save_pretrained(folder)


def _write_processor(folder: Path, side: int, mean: list[float], std: list[float]) -> None:
    from transformers import CLIPImageProcessor

    CLIPImageProcessor(
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        image_mean=mean,
        image_std=std,
    ).save_pretrained(folder)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
