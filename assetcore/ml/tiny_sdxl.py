"""Tiny random-weight SDXL models in the published diffusers layouts (no downloads).

`build_base` writes a StableDiffusionXLPipeline folder (model_index.json, unet/, vae/,
text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, scheduler/) and `build_refiner` a
StableDiffusionXLImg2ImgPipeline folder (text_encoder_2 only, aesthetic-score conditioning),
both as stabilityai's SDXL 1.0 repositories lay them out. The architectures are SDXL's: two
CLIP text encoders whose hidden states are concatenated for cross-attention, the second's
pooled projection plus six (base) or five (refiner) size/score embeddings as the UNet's
"text_time" addition, a 4-channel latent VAE that downsamples by 8. Only the widths shrink.

The base and the refiner share the VAE and the second text encoder (built from the same
seeds), as the published pair does, so the base's latents are the refiner's. The tokenizers
use a hand-made CLIP BPE vocabulary: the 512 byte symbols, a few merges, the two specials.

`build_base_single_file` writes the same base as one checkpoint in the original (SGM) key
layout that community SDXL fine-tunes ship, beside the folder's configs without weights: the
store layout assetcore/ml/sdxl.py loads through `from_single_file`.

`UNET_CONFIG`, `REFINER_UNET_CONFIG` and `VAE_CONFIG` are exposed so other tests can build a
bare tiny UNet or VAE (e.g. for ONNX export) without a folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from assetcore.ml.torchvision_compat import ensure_torchvision_importable

# The encoders' widths differ, as SDXL's (768, 1280) do: single-file loading tells them apart by it.
TEXT_WIDTH = 32  # text_encoder's hidden size
TEXT_2_WIDTH = 48  # text_encoder_2's hidden size
POOLED_WIDTH = 32  # text_encoder_2's projection (SDXL: 1280)
TIME_WIDTH = 8  # addition_time_embed_dim (SDXL: 256)
MAX_TOKENS = 77  # CLIP's context length, as SDXL's tokenizers

VAE_CONFIG: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [8, 8, 16, 16],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}

_UNET_COMMON: dict[str, Any] = {
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": TIME_WIDTH,
    "addition_embed_type_num_heads": 4,
}

UNET_CONFIG: dict[str, Any] = {
    **_UNET_COMMON,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [16, 32, 32],
    "attention_head_dim": [2, 4, 4],
    "transformer_layers_per_block": [1, 1, 2],
    "cross_attention_dim": TEXT_WIDTH + TEXT_2_WIDTH,  # both encoders' hidden states, concatenated
    "projection_class_embeddings_input_dim": 6 * TIME_WIDTH + POOLED_WIDTH,  # sizes and crop
}

REFINER_UNET_CONFIG: dict[str, Any] = {
    **_UNET_COMMON,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [16, 32, 32, 32],
    "attention_head_dim": [2, 4, 4, 4],
    "transformer_layers_per_block": 2,
    "cross_attention_dim": TEXT_2_WIDTH,  # text_encoder_2 only
    "projection_class_embeddings_input_dim": 5 * TIME_WIDTH + POOLED_WIDTH,  # sizes and score
}

TEXT_CONFIG: dict[str, Any] = {
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "max_position_embeddings": MAX_TOKENS,
    "projection_dim": POOLED_WIDTH,
    "hidden_act": "gelu",
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}

SCHEDULER_CONFIG: dict[str, Any] = {  # stabilityai/stable-diffusion-xl-base-1.0's scheduler
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "interpolation_type": "linear",
    "use_karras_sigmas": False,
}

# Merges of the hand-made BPE vocabulary: enough that common words are not all single bytes.
_MERGES = ("t h", "th e</w>", "a n", "i n", "e r", "o n", "r e", "a t", "e n", "o r", "s t", "a r")
_SEEDS = {"unet": 1, "refiner_unet": 2, "vae": 3, "text_encoder": 4, "text_encoder_2": 5}


def build_base(folder: Path) -> None:
    """A tiny StableDiffusionXLPipeline in stable-diffusion-xl-base-1.0's folder layout."""
    ensure_torchvision_importable()
    from diffusers import StableDiffusionXLPipeline

    pipe: Any = StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(projection=False),
        text_encoder_2=_text_encoder(projection=True),
        tokenizer=_tokenizer(pad="<|endoftext|>"),
        tokenizer_2=_tokenizer(pad="!"),
        unet=_unet(UNET_CONFIG, "unet"),
        scheduler=_scheduler(),
        force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(folder, safe_serialization=True)


def build_refiner(folder: Path) -> None:
    """A tiny StableDiffusionXLImg2ImgPipeline in stable-diffusion-xl-refiner-1.0's layout."""
    ensure_torchvision_importable()
    from diffusers import StableDiffusionXLImg2ImgPipeline

    pipe: Any = StableDiffusionXLImg2ImgPipeline(
        vae=_vae(),
        text_encoder=None,
        text_encoder_2=_text_encoder(projection=True),
        tokenizer=None,
        tokenizer_2=_tokenizer(pad="!"),
        unet=_unet(REFINER_UNET_CONFIG, "refiner_unet"),
        scheduler=_scheduler(),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)


def build_base_single_file(folder: Path) -> None:
    """The base as `sd_xl_base.safetensors` (SGM keys) plus its diffusers configs, no weights."""
    from safetensors.torch import save_file

    build_base(folder)
    pipe_weights = {}
    for component in ("unet", "vae", "text_encoder", "text_encoder_2"):
        weights = next((folder / component).glob("*.safetensors"))
        pipe_weights[component] = _load(weights)
        weights.unlink()
    checkpoint = {
        **{f"model.diffusion_model.{_sgm_unet_key(k)}": v for k, v in pipe_weights["unet"].items()},
        **{
            f"first_stage_model.{k2}": v2
            for k, v in pipe_weights["vae"].items()
            for k2, v2 in [_sgm_vae_item(k, v)]
        },
        **{
            f"conditioner.embedders.0.transformer.{_hf_clip_key(k)}": v
            for k, v in pipe_weights["text_encoder"].items()
        },
        **{
            f"conditioner.embedders.1.model.{k}": v
            for k, v in _open_clip(pipe_weights["text_encoder_2"]).items()
        },
    }
    save_file(
        {k: v.contiguous() for k, v in sorted(checkpoint.items())}, str(folder / "sd_xl_base.safetensors")
    )


def tiny_unet(config: dict[str, Any] | None = None, *, seed: int = 0) -> Any:
    """A bare random UNet2DConditionModel (the base's config by default)."""
    return _unet(UNET_CONFIG if config is None else config, seed=seed)


def tiny_vae(*, seed: int = 0) -> Any:
    """A bare random AutoencoderKL of the tiny SDXL VAE's config."""
    return _vae(seed=seed)


def _unet(config: dict[str, Any], component: str = "", *, seed: int | None = None) -> Any:
    from diffusers import UNet2DConditionModel

    _seed(_SEEDS[component] if seed is None else seed)
    return _randomised(UNet2DConditionModel(**config))


def _vae(*, seed: int | None = None) -> Any:
    from diffusers import AutoencoderKL

    _seed(_SEEDS["vae"] if seed is None else seed)
    return AutoencoderKL(**VAE_CONFIG)


def _text_encoder(*, projection: bool) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    _seed(_SEEDS["text_encoder_2" if projection else "text_encoder"])
    width = TEXT_2_WIDTH if projection else TEXT_WIDTH
    config = CLIPTextConfig(vocab_size=len(_vocabulary()), hidden_size=width, **TEXT_CONFIG)
    model = CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)
    return model


def _tokenizer(*, pad: str) -> Any:
    from transformers import CLIPTokenizer

    merges: list[Any] = [tuple(m.split(" ")) for m in _MERGES]  # pairs, as tokenizers' BPE takes them
    return CLIPTokenizer(
        vocab=dict(_vocabulary()),
        merges=merges,
        pad_token=pad,
        model_max_length=MAX_TOKENS,
    )


def _scheduler() -> Any:
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler.from_config(SCHEDULER_CONFIG)


def _randomised(unet: Any) -> Any:
    """diffusers zero-initialises the UNet's output conv (and some projections); a tiny model
    with zero outputs would denoise nothing, so every zero weight gets small random values."""
    import torch

    with torch.no_grad():
        for parameter in unet.parameters():
            if parameter.dim() > 1 and not parameter.any():
                parameter.normal_(0.0, 0.02)
    return unet


def _load(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return dict(load_file(str(path)))


_RESNET_SGM = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("time_emb_proj", "emb_layers.1"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("conv_shortcut", "skip_connection"),
)
_UNET_TOP_SGM = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}


def _sgm_unet_key(key: str) -> str:
    """A diffusers UNet2DConditionModel key in SGM's openaimodel layout (base config)."""
    per_block = UNET_CONFIG["layers_per_block"]
    parts = key.split(".")
    for depth in (1, 2):
        head = ".".join(parts[:depth])
        if head in _UNET_TOP_SGM:
            return f"{_UNET_TOP_SGM[head]}.{'.'.join(parts[depth:])}"
    if parts[0] == "mid_block":
        index = {"resnets": 2 * int(parts[2]), "attentions": 1}[parts[1]]
        return f"middle_block.{index}.{_sgm_layer(parts[1], '.'.join(parts[3:]))}"
    block, kind, layer, tail = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
    if parts[0] == "down_blocks":
        first = 1 + block * (per_block + 1)
        if kind == "downsamplers":
            return f"input_blocks.{first + per_block}.0.op.{tail.removeprefix('conv.')}"
        return f"input_blocks.{first + layer}.{0 if kind == 'resnets' else 1}.{_sgm_layer(kind, tail)}"
    first = block * (per_block + 1)
    if kind == "upsamplers":
        has_attention = UNET_CONFIG["up_block_types"][block].startswith("CrossAttn")
        return f"output_blocks.{first + per_block}.{2 if has_attention else 1}.{tail}"
    return f"output_blocks.{first + layer}.{0 if kind == 'resnets' else 1}.{_sgm_layer(kind, tail)}"


def _sgm_layer(kind: str, tail: str) -> str:
    if kind != "resnets":
        return tail  # SpatialTransformer keeps diffusers' names
    for new, old in _RESNET_SGM:
        if tail.startswith(new + "."):
            return old + tail[len(new) :]
    return tail


_VAE_ATTENTION_SGM = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _sgm_vae_item(key: str, value: Any) -> tuple[str, Any]:
    """A diffusers AutoencoderKL weight in the LDM layout (1x1 convolutions in attention)."""
    blocks = len(VAE_CONFIG["block_out_channels"])
    parts = key.split(".")
    coder = parts[0]
    name = key
    if parts[1] in ("down_blocks", "up_blocks"):
        level = int(parts[2]) if coder == "encoder" else blocks - 1 - int(parts[2])
        stage = "down" if coder == "encoder" else "up"
        tail = ".".join(parts[3:]).replace("resnets.", "block.").replace("conv_shortcut", "nin_shortcut")
        tail = tail.replace("downsamplers.0", "downsample").replace("upsamplers.0", "upsample")
        name = f"{coder}.{stage}.{level}.{tail}"
    elif parts[1] == "mid_block":
        tail = ".".join(parts[4:])
        if parts[2] == "attentions":
            for new, old in _VAE_ATTENTION_SGM.items():
                tail = tail.replace(new + ".", old + ".")
            if value.dim() == 2:
                value = value[:, :, None, None]
            name = f"{coder}.mid.attn_1.{tail}"
        else:
            name = f"{coder}.mid.block_{int(parts[3]) + 1}.{tail.replace('conv_shortcut', 'nin_shortcut')}"
    elif parts[1] == "conv_norm_out":
        name = f"{coder}.norm_out.{parts[2]}"
    return name, value


def _hf_clip_key(key: str) -> str:
    """transformers 5 saves CLIPTextModel without its "text_model." prefix; checkpoints have it."""
    return key if key.startswith("text_model.") else f"text_model.{key}"


def _open_clip(weights: dict[str, Any]) -> dict[str, Any]:
    """transformers' CLIPTextModelWithProjection weights in OpenCLIP's layout."""
    import torch

    out: dict[str, Any] = {
        "token_embedding.weight": weights["text_model.embeddings.token_embedding.weight"],
        "positional_embedding": weights["text_model.embeddings.position_embedding.weight"],
        "ln_final.weight": weights["text_model.final_layer_norm.weight"],
        "ln_final.bias": weights["text_model.final_layer_norm.bias"],
        "text_projection": weights["text_projection.weight"].T,
    }
    renames = (
        ("layer_norm1", "ln_1"),
        ("layer_norm2", "ln_2"),
        ("mlp.fc1", "mlp.c_fc"),
        ("mlp.fc2", "mlp.c_proj"),
    )
    for layer in range(TEXT_CONFIG["num_hidden_layers"]):
        source, target = f"text_model.encoder.layers.{layer}.", f"transformer.resblocks.{layer}."
        for kind in ("weight", "bias"):
            projections = [weights[f"{source}self_attn.{p}_proj.{kind}"] for p in "qkv"]
            out[f"{target}attn.in_proj_{kind}"] = torch.cat(projections)
            out[f"{target}attn.out_proj.{kind}"] = weights[f"{source}self_attn.out_proj.{kind}"]
            for new, old in renames:
                out[f"{target}{old}.{kind}"] = weights[f"{source}{new}.{kind}"]
    return out


@cache
def _vocabulary() -> tuple[tuple[str, int], ...]:
    """CLIP's vocabulary order: byte symbols, the same with "</w>", merges, then the specials."""
    symbols = list(_byte_symbols())
    tokens = [*symbols, *(s + "</w>" for s in symbols), *(m.replace(" ", "") for m in _MERGES)]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return tuple((token, index) for index, token in enumerate(dict.fromkeys(tokens)))


def _byte_symbols() -> tuple[str, ...]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    return tuple(chr(b) if b in printable else chr(next(extra)) for b in range(256))


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
