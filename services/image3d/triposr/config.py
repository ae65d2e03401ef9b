"""The published `config.yaml`, read into typed settings.

Only the parts that shape the network are read; class paths (`*_cls`) name upstream's modules
and are ignored. `${a.b}` interpolations (OmegaConf's syntax) are resolved against the file.
The image tokenizer names its ViT config the Hugging Face way: a folder beside config.yaml
holding a config.json wins (the tiny models use one), else the name of a known hub model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from assetcore.models.store import ModelError

# facebook/dino-vitb16's config.json, which upstream downloads from the hub at start-up.
KNOWN_VIT_CONFIGS: dict[str, dict[str, Any]] = {
    "facebook/dino-vitb16": {
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "image_size": 224,
        "patch_size": 16,
        "num_channels": 3,
        "qkv_bias": True,
    }
}
# stabilityai/TripoSR's config.yaml: the sections that shape the network (the key-layout test and
# the GPU benchmark build the full-size model from it).
PUBLISHED_CONFIG: dict[str, Any] = {
    "cond_image_size": 512,
    "image_tokenizer": {"pretrained_model_name_or_path": "facebook/dino-vitb16"},
    "tokenizer": {"plane_size": 32, "num_channels": 1024},
    "backbone": {
        "in_channels": 1024,
        "num_attention_heads": 16,
        "attention_head_dim": 64,
        "num_layers": 16,
        "cross_attention_dim": 768,
    },
    "post_processor": {"in_channels": 1024, "out_channels": 40},
    "decoder": {"in_channels": 120, "n_neurons": 64, "n_hidden_layers": 9, "activation": "silu"},
    "renderer": {"radius": 0.87, "density_activation": "trunc_exp", "density_bias": -1.0},
}
_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")


@dataclass(frozen=True)
class BackboneConfig:
    in_channels: int
    num_attention_heads: int
    attention_head_dim: int
    num_layers: int
    cross_attention_dim: int
    norm_num_groups: int = 32
    attention_bias: bool = False


@dataclass(frozen=True)
class DecoderConfig:
    in_channels: int
    n_neurons: int
    n_hidden_layers: int
    activation: str = "silu"


@dataclass(frozen=True)
class RendererConfig:
    radius: float
    density_activation: str = "trunc_exp"
    density_bias: float = -1.0


@dataclass(frozen=True)
class TriposrConfig:
    cond_image_size: int
    vit: dict[str, Any]  # transformers ViTConfig keyword arguments
    plane_size: int
    num_channels: int
    backbone: BackboneConfig
    plane_channels: int  # the post-processor's output channels per plane
    decoder: DecoderConfig
    renderer: RendererConfig


def load_config(path: Path) -> TriposrConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"triposr: cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ModelError(f"triposr: {path} is not a mapping")
    try:
        return parse_config(_resolved(raw, raw), path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"triposr: {path} is not a TripoSR config ({type(exc).__name__}: {exc})") from None


def parse_config(raw: dict[str, Any], folder: Path) -> TriposrConfig:
    backbone, decoder, renderer = raw["backbone"], raw["decoder"], raw["renderer"]
    return TriposrConfig(
        cond_image_size=int(raw["cond_image_size"]),
        vit=vit_config(str(raw["image_tokenizer"]["pretrained_model_name_or_path"]), folder),
        plane_size=int(raw["tokenizer"]["plane_size"]),
        num_channels=int(raw["tokenizer"]["num_channels"]),
        backbone=BackboneConfig(
            in_channels=int(backbone["in_channels"]),
            num_attention_heads=int(backbone["num_attention_heads"]),
            attention_head_dim=int(backbone["attention_head_dim"]),
            num_layers=int(backbone["num_layers"]),
            cross_attention_dim=int(backbone["cross_attention_dim"]),
            norm_num_groups=int(backbone.get("norm_num_groups", 32)),
            attention_bias=bool(backbone.get("attention_bias", False)),
        ),
        plane_channels=int(raw["post_processor"]["out_channels"]),
        decoder=DecoderConfig(
            in_channels=int(decoder["in_channels"]),
            n_neurons=int(decoder["n_neurons"]),
            n_hidden_layers=int(decoder["n_hidden_layers"]),
            activation=str(decoder.get("activation", "relu")),
        ),
        renderer=RendererConfig(
            radius=float(renderer["radius"]),
            density_activation=str(renderer.get("density_activation", "trunc_exp")),
            density_bias=float(renderer.get("density_bias", -1.0)),
        ),
    )


def vit_config(name_or_path: str, folder: Path) -> dict[str, Any]:
    local = folder / name_or_path / "config.json"
    if local.is_file():
        loaded: dict[str, Any] = json.loads(local.read_text())
        return loaded
    if name_or_path in KNOWN_VIT_CONFIGS:
        return dict(KNOWN_VIT_CONFIGS[name_or_path])
    raise ModelError(
        f"triposr: image tokenizer {name_or_path!r}: no {local} and not a known model "
        f"({', '.join(KNOWN_VIT_CONFIGS)})"
    )


def _resolved(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _resolved(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, root) for value in node]
    if isinstance(node, str) and (match := _REFERENCE.match(node)):
        target: Any = root
        for part in match.group(1).split("."):
            target = target[part]
        return _resolved(target, root)
    return node
