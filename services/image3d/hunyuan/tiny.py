"""A tiny random-weight Hunyuan3D-2 shape model in the published layout (no downloads).

Writes `config.yaml` and `model.fp16.safetensors` as tencent/Hunyuan3D-2's
`hunyuan3d-dit-v2-0` folder has them (checkpoint.py), with the same part classes and config
keys; only the sizes shrink: DiT hidden 32 with 1 double + 1 single block (published: 1024,
16 + 32), VAE width 32 with 1 layer and 32 latents (1024, 16, 3072), DINOv2 hidden 32 with 1
layer at 56 px (DINOv2-giant: 1536, 40, 518 px).

A random occupancy decoder gives a field of noise: hundreds of specks, or none, depending on
the seed. So the seeded initialisation is shaped in three ways (`_shape_decoder`), then the
output bias is calibrated:
- its query projection sees only the lowest Fourier frequencies (scaled by `LOW_FREQUENCY`),
  plus a radial term: the frequency-1 cosines, summed along one random direction
  (`RADIAL`) and centred by the bias at `RADIUS`, so the field is a smooth blob;
- its cross-attention output is scaled by `LATENT_GAIN`, so the latents (the seeded noise,
  barely moved by a random DiT) perturb the blob instead of swamping it;
- the field of a reference run (a disc image, seed 0) is sampled on a coarse grid, the output
  is negated if the centre lies below the mean, and the bias shifts the level so that
  `OCCUPIED_SHARE` of the samples lie inside.
Measured over three concept images and four seeds: 7-26 % of an octree-32 grid inside, one
main component (specks of a few voxels beside it at times), sometimes touching the grid's
edge, which the mesh extraction closes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from services.image3d.hunyuan import checkpoint

SEED = 7
WIDTH = 32
HEADS = 2
LATENTS = 32
LATENT_CHANNELS = 16
IMAGE_PX = 56  # a multiple of DINOv2's 14 px patches
OCCUPIED_SHARE = 0.2  # of the calibration grid's samples: a solid blob amid empty space
RADIAL = 3.0
RADIUS = 0.55  # of the radial term's level, in the unit cube the decoder samples
LOW_FREQUENCY = 0.2
LATENT_GAIN = 0.1
NUM_FREQS = 8
CALIBRATION_OCTREE = 16
CALIBRATION_STEPS = 4

CONFIG: dict[str, Any] = {
    "model": {
        "target": "hy3dgen.shapegen.models.Hunyuan3DDiT",
        "params": {
            "in_channels": LATENT_CHANNELS,
            "context_in_dim": WIDTH,
            "hidden_size": WIDTH,
            "mlp_ratio": 4.0,
            "num_heads": HEADS,
            "depth": 1,
            "depth_single_blocks": 1,
            "axes_dim": [WIDTH // HEADS],
            "theta": 10000,
            "qkv_bias": True,
            "guidance_embed": False,
        },
    },
    "vae": {
        "target": "hy3dgen.shapegen.models.ShapeVAE",
        "params": {
            "num_latents": LATENTS,
            "embed_dim": LATENT_CHANNELS,
            "num_freqs": NUM_FREQS,
            "include_pi": False,
            "heads": HEADS,
            "width": WIDTH,
            "num_decoder_layers": 1,
            "qkv_bias": False,
            "qk_norm": True,
            "scale_factor": 0.9990943042622529,
        },
    },
    "conditioner": {
        "target": "hy3dgen.shapegen.models.SingleImageEncoder",
        "params": {
            "main_image_encoder": {
                "type": "DinoImageEncoder",
                "kwargs": {
                    "config": {
                        "attention_probs_dropout_prob": 0.0,
                        "drop_path_rate": 0.0,
                        "hidden_act": "gelu",
                        "hidden_dropout_prob": 0.0,
                        "hidden_size": WIDTH,
                        "image_size": IMAGE_PX,
                        "initializer_range": 0.02,
                        "layer_norm_eps": 1.0e-6,
                        "layerscale_value": 1.0,
                        "mlp_ratio": 4,
                        "model_type": "dinov2",
                        "num_attention_heads": HEADS,
                        "num_channels": 3,
                        "num_hidden_layers": 1,
                        "patch_size": 14,
                        "qkv_bias": True,
                        "use_swiglu_ffn": True,
                    },
                    "image_size": IMAGE_PX,
                },
            }
        },
    },
    "scheduler": {
        "target": "hy3dgen.shapegen.schedulers.FlowMatchEulerDiscreteScheduler",
        "params": {"num_train_timesteps": 1000},
    },
    "image_processor": {
        "target": "hy3dgen.shapegen.preprocessors.ImageProcessorV2",
        "params": {"size": 512, "border_ratio": 0.15},
    },
}


def build_hunyuan3d(folder: Path) -> None:
    """Write the tiny model into the empty `folder` (deterministic: seeded, then calibrated)."""
    ensure_torchvision_importable()
    import safetensors.torch
    import torch
    import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)
    from hy3dgen.shapegen.pipelines import instantiate_from_config

    torch.manual_seed(SEED)
    parts = {name: instantiate_from_config(CONFIG[name]) for name in checkpoint.PARTS}
    _shape_decoder(parts["vae"].geo_decoder)
    _calibrate(parts)
    states = {name: module.state_dict() for name, module in parts.items()}
    states["conditioner"] = checkpoint.to_published_names(states["conditioner"])
    flat = {
        key: tensor.to(torch.float16).contiguous() for key, tensor in checkpoint.join_parts(states).items()
    }
    (folder / checkpoint.CONFIG_FILE).write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    safetensors.torch.save_file(flat, str(folder / checkpoint.WEIGHTS_FILE))


def _shape_decoder(decoder: Any) -> None:
    """Low frequencies, a radial term and a weak latent path (see the module docstring).

    The Fourier features are [x, y, z, sin(f x)..., cos(f x)...] with the frequencies
    f = 1, 2, 4, ... per axis (hy3dgen's FourierEmbedder, include_pi false)."""
    import torch

    query = decoder.query_proj
    direction = torch.randn(query.out_features)
    direction /= direction.norm()
    sines = [3 + axis * NUM_FREQS for axis in range(3)]
    cosines = [3 + 3 * NUM_FREQS + axis * NUM_FREQS for axis in range(3)]
    kept = torch.zeros(query.in_features, dtype=torch.bool)
    kept[[0, 1, 2, *sines, *[i + 1 for i in sines], *[i + 1 for i in cosines]]] = True
    with torch.no_grad():
        query.weight[:, ~kept] = 0.0
        query.weight *= LOW_FREQUENCY
        query.weight[:, cosines] = RADIAL * direction[:, None]
        query.bias -= RADIAL * direction * 3 * math.cos(RADIUS)
        projection = decoder.cross_attn_decoder.attn.c_proj
        projection.weight *= LATENT_GAIN
        projection.bias *= LATENT_GAIN


def _calibrate(parts: dict[str, Any]) -> None:
    """Shift the occupancy decoder's output bias so a reference run has a surface."""
    import torch
    from hy3dgen.shapegen.pipelines import Hunyuan3DDiTFlowMatchingPipeline, instantiate_from_config

    for module in parts.values():  # the saved weights are fp16: calibrate on what loads
        module.to(torch.float16).to(torch.float32)
    pipeline = Hunyuan3DDiTFlowMatchingPipeline(
        vae=parts["vae"],
        model=parts["model"],
        scheduler=instantiate_from_config(CONFIG["scheduler"]),
        conditioner=parts["conditioner"],
        image_processor=instantiate_from_config(CONFIG["image_processor"]),
        device="cpu",
        dtype=torch.float32,
    )
    latents = pipeline(
        image=_disc(),
        num_inference_steps=CALIBRATION_STEPS,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
        enable_pbar=False,
    )
    decoded = pipeline.vae(latents / pipeline.vae.scale_factor)
    field = pipeline.vae.volume_decoder(
        decoded, pipeline.vae.geo_decoder, octree_resolution=CALIBRATION_OCTREE, enable_pbar=False
    )
    samples = field[0].numpy()
    output = parts["vae"].geo_decoder.output_proj
    centre = CALIBRATION_OCTREE // 2
    with torch.no_grad():
        if samples[centre, centre, centre] < samples.mean():
            output.weight.neg_()
            output.bias.neg_()
            samples = -samples
        output.bias -= float(np.quantile(samples, 1.0 - OCCUPIED_SHARE))


def _disc() -> Image.Image:
    image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((24, 16, 104, 112), fill=(180, 120, 60, 255))
    return image
