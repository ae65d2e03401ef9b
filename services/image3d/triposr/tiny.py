"""A tiny random-weight TripoSR in the published layout (assetcore/models/tiny.py calls it).

config.yaml has the published keys with tiny sizes; the ViT config sits in a folder beside
it (the published config names facebook/dino-vitb16 on the hub instead); model.ckpt is a
plain state dict under transformers 4.x's ViT names, like the published one. The density
bias is set so that about 40% of the volume around a grey image's triplane is inside the
surface: random weights still give a mesh.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from services.image3d.triposr.checkpoint import CONFIG_FILE, WEIGHTS_FILE, to_published
from services.image3d.triposr.config import load_config
from services.image3d.triposr.extraction import DENSITY_LEVEL
from services.image3d.triposr.network import Triposr

INSIDE_SHARE = 0.4
VIT_FOLDER = "vit"
TINY_VIT: dict[str, Any] = {
    "model_type": "vit",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "layer_norm_eps": 1e-12,
    "image_size": 32,
    "patch_size": 16,
    "num_channels": 3,
    "qkv_bias": True,
}


def tiny_config() -> dict[str, Any]:
    """The published config.yaml's structure with tiny sizes."""
    return {
        "cond_image_size": 64,
        "image_tokenizer_cls": "tsr.models.tokenizers.image.DINOSingleImageTokenizer",
        "image_tokenizer": {"pretrained_model_name_or_path": VIT_FOLDER},
        "tokenizer_cls": "tsr.models.tokenizers.triplane.Triplane1DTokenizer",
        "tokenizer": {"plane_size": 8, "num_channels": 32},
        "backbone_cls": "tsr.models.transformer.transformer_1d.Transformer1D",
        "backbone": {
            "in_channels": "${tokenizer.num_channels}",
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "num_layers": 2,
            "cross_attention_dim": TINY_VIT["hidden_size"],
        },
        "post_processor_cls": "tsr.models.network_utils.TriplaneUpsampleNetwork",
        "post_processor": {"in_channels": "${tokenizer.num_channels}", "out_channels": 8},
        "decoder_cls": "tsr.models.network_utils.NeRFMLP",
        "decoder": {"in_channels": 24, "n_neurons": 16, "n_hidden_layers": 9, "activation": "silu"},
        "renderer_cls": "tsr.models.nerf_renderer.TriplaneNeRFRenderer",
        "renderer": {
            "radius": 0.87,
            "feature_reduction": "concat",
            "density_activation": "exp",
            "density_bias": -1.0,
            "num_samples_per_ray": 128,
        },
    }


def build_triposr(folder: Path) -> None:
    torch.manual_seed(0)
    (folder / VIT_FOLDER).mkdir()
    (folder / VIT_FOLDER / "config.json").write_text(json.dumps(TINY_VIT, indent=2, sort_keys=True) + "\n")
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    model = Triposr(load_config(folder / CONFIG_FILE)).eval()
    _place_surface(model)
    torch.save(to_published(model.state_dict()), folder / WEIGHTS_FILE)


@torch.no_grad()
def _place_surface(model: Triposr) -> None:
    size = model.config.cond_image_size
    triplane = model.triplanes(torch.full((1, 3, size, size), 0.5))[0]
    axis = torch.linspace(-0.6, 0.6, 16) * model.config.renderer.radius
    probe = torch.cartesian_prod(axis, axis, axis)
    density = model.density(triplane, probe)
    cut = float(torch.quantile(torch.log(density), 1.0 - INSIDE_SHARE))
    output = model.decoder.layers[-1]
    assert isinstance(output, torch.nn.Linear)
    output.bias[0] += math.log(DENSITY_LEVEL) - cut
