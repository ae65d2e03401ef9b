"""GPU benchmark of the ML models at their published sizes, with random weights: prints JSON.

Speed and memory do not depend on weight values, so every model is built from its published
configuration (written inline below; nothing is downloaded) and initialised at random:

- SDXL base 1.0: 1024x1024, 30 Euler steps, classifier-free guidance, fp16, text encoders
  and VAE decode included; the UNet eager, under torch.compile, and through TensorRT
  (assetcore/ml/tensorrt.py; reported as skipped, with the reason, where it cannot run).
- Hunyuan3D-2 shape (hunyuan3d-dit-v2-0 through hy3dgen): DINOv2-giant conditioning at
  518 px, 50 flow-matching steps, volume decode and marching cubes at octree 256, fp16.
- TripoSR (services/image3d/triposr): its published configuration, 512 px input, marching
  cubes at 256, fp32 as upstream runs it.

Per model: seconds per asset (median of --repeat timed runs after one warm-up; the warm-up's
time is reported too: it holds torch.compile's and TensorRT's build) and peak GPU memory.

    python bench/gpu_models.py [--out result.json] [--repeat 3] [--only sdxl,hunyuan3d,triposr]
    python bench/gpu_models.py --tiny     # tiny configs on CPU: proves the code path, times nothing

Without a CUDA device it refuses (exit 2) unless --tiny is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: services

from assetcore.ml.tensorrt import compile_unet_tensorrt, tensorrt_unavailable
from assetcore.ml.tiny_sdxl import (
    SCHEDULER_CONFIG,
    TEXT_2_WIDTH,
    TEXT_CONFIG,
    TEXT_WIDTH,
    UNET_CONFIG,
    VAE_CONFIG,
)
from assetcore.ml.torchvision_compat import ensure_torchvision_importable

MODELS = ("sdxl", "hunyuan3d", "triposr")

# stabilityai/stable-diffusion-xl-base-1.0: unet/, vae/, text_encoder/, text_encoder_2/ config.json
SDXL_UNET = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": [320, 640, 1280],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "attention_head_dim": [5, 10, 20],
    "transformer_layers_per_block": [1, 2, 10],
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "norm_num_groups": 32,
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}
SDXL_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}
CLIP_L = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
CLIP_BIG_G = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}

# tencent/Hunyuan3D-2 hunyuan3d-dit-v2-0/config.yaml (the conditioner's DINOv2 is dinov2-giant).
HUNYUAN_DIT = {
    "in_channels": 64,
    "context_in_dim": 1536,
    "hidden_size": 1024,
    "mlp_ratio": 4.0,
    "num_heads": 16,
    "depth": 16,
    "depth_single_blocks": 32,
    "axes_dim": [64],
    "theta": 10000,
    "qkv_bias": True,
}
HUNYUAN_VAE = {
    "num_latents": 3072,
    "embed_dim": 64,
    "num_freqs": 8,
    "include_pi": False,
    "heads": 16,
    "width": 1024,
    "num_decoder_layers": 16,
    "qkv_bias": False,
    "qk_norm": True,
    "scale_factor": 0.9990943042622529,
}
DINOV2_GIANT = {
    "hidden_size": 1536,
    "num_hidden_layers": 40,
    "num_attention_heads": 24,
    "mlp_ratio": 4,
    "patch_size": 14,
    "image_size": 518,
    "use_swiglu_ffn": True,
    "layer_norm_eps": 1e-6,
    "layerscale_value": 1.0,
    "qkv_bias": True,
}
TINY_HUNYUAN = {
    "dit": {
        **HUNYUAN_DIT,
        "in_channels": 8,
        "context_in_dim": 32,
        "hidden_size": 32,
        "num_heads": 2,
        "depth": 1,
        "depth_single_blocks": 1,
        "axes_dim": [16],
    },
    "vae": {
        **HUNYUAN_VAE,
        "num_latents": 16,
        "embed_dim": 8,
        "heads": 2,
        "width": 32,
        "num_decoder_layers": 1,
    },
    "dino": {
        **DINOV2_GIANT,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 56,
    },
}


class Bench:
    """Timing and peak memory on one device."""

    def __init__(self, device: str, repeat: int) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.repeat = repeat

    def _sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def measure(self, run: Callable[[], Any]) -> dict[str, Any]:
        """One warm-up (its time reported: compiles and engine builds), then `repeat` timed runs."""
        cuda = self.device == "cuda"
        if cuda:
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        run()
        self._sync()
        warmup = time.perf_counter() - started
        seconds = []
        for _ in range(self.repeat):
            started = time.perf_counter()
            run()
            self._sync()
            seconds.append(time.perf_counter() - started)
        return {
            "seconds_per_asset": statistics.median(seconds),
            "runs_s": [round(s, 4) for s in seconds],
            "first_call_s": round(warmup, 4),
            "peak_gpu_memory_gib": round(self.torch.cuda.max_memory_allocated() / 2**30, 3) if cuda else None,
        }


def bench_sdxl(bench: Bench, tiny: bool) -> dict[str, Any]:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    dtype = torch.float32 if tiny else torch.float16
    size, steps = (64, 2) if tiny else (1024, 30)
    torch.manual_seed(0)
    # The tiny text encoders are tiny_sdxl's, whose widths the tiny UNet's cross-attention expects.
    tiny_clips = ({**TEXT_CONFIG, "hidden_size": TEXT_WIDTH}, {**TEXT_CONFIG, "hidden_size": TEXT_2_WIDTH})
    clip_1, clip_2 = tiny_clips if tiny else (CLIP_L, CLIP_BIG_G)
    encoder = CLIPTextModel(CLIPTextConfig(vocab_size=49408, **clip_1))
    encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(vocab_size=49408, **clip_2))
    pipe = StableDiffusionXLPipeline(
        vae=AutoencoderKL(**(VAE_CONFIG if tiny else SDXL_VAE)),
        text_encoder=encoder,
        text_encoder_2=encoder_2,
        tokenizer=None,
        tokenizer_2=None,
        unet=UNet2DConditionModel(**(UNET_CONFIG if tiny else SDXL_UNET)),
        scheduler=EulerDiscreteScheduler.from_config(SCHEDULER_CONFIG),
    ).to(bench.device, dtype)
    pipe.set_progress_bar_config(disable=True)
    tokens = torch.randint(0, 49408, (1, 77), generator=torch.Generator().manual_seed(0)).to(bench.device)
    eager_unet = pipe.unet

    def generate() -> None:
        # The tokenizers' output is fixed token ids; both encoders run, as in production.
        with torch.no_grad():
            hidden = encoder(tokens, output_hidden_states=True).hidden_states[-2]
            out_2 = encoder_2(tokens, output_hidden_states=True)
            embeds = torch.cat([hidden, out_2.hidden_states[-2]], dim=-1)
        pipe(
            prompt_embeds=embeds,
            pooled_prompt_embeds=out_2.text_embeds,
            height=size,
            width=size,
            num_inference_steps=steps,
            guidance_scale=5.0,
            generator=torch.Generator("cpu").manual_seed(0),
            output_type="np",
        )

    result: dict[str, Any] = {"resolution": size, "steps": steps, "dtype": str(dtype).removeprefix("torch.")}
    for mode in ("eager", "compile", "tensorrt"):
        skipped = _sdxl_mode_skipped(mode, tiny)
        if skipped:
            result[mode] = {"skipped": skipped}
            continue
        if mode == "compile":
            pipe.unet = torch.compile(eager_unet)
        elif mode == "tensorrt":
            pipe.unet = compile_unet_tensorrt(eager_unet, dtype=dtype)
        result[mode] = bench.measure(generate)
        pipe.unet = eager_unet
    return result


def _sdxl_mode_skipped(mode: str, tiny: bool) -> str | None:
    if mode == "eager":
        return None
    if tiny:
        return "--tiny times the eager path only"
    return tensorrt_unavailable() if mode == "tensorrt" else None


def bench_hunyuan3d(bench: Bench, tiny: bool) -> dict[str, Any]:
    import numpy as np
    import torch
    from hy3dgen.shapegen.models import Hunyuan3DDiT, ShapeVAE, SingleImageEncoder
    from hy3dgen.shapegen.pipelines import Hunyuan3DDiTFlowMatchingPipeline
    from hy3dgen.shapegen.preprocessors import ImageProcessorV2
    from hy3dgen.shapegen.schedulers import FlowMatchEulerDiscreteScheduler
    from PIL import Image

    configs = TINY_HUNYUAN if tiny else {"dit": HUNYUAN_DIT, "vae": HUNYUAN_VAE, "dino": DINOV2_GIANT}
    octree, steps = (32, 2) if tiny else (256, 50)
    dtype = torch.float32 if tiny else torch.float16
    torch.manual_seed(0)
    encoder = {
        "type": "DinoImageEncoder",
        "kwargs": {"config": configs["dino"], "image_size": configs["dino"]["image_size"]},
    }
    pipe = Hunyuan3DDiTFlowMatchingPipeline(
        vae=ShapeVAE(**configs["vae"]),
        model=Hunyuan3DDiT(**configs["dit"]),
        scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000),
        conditioner=SingleImageEncoder(main_image_encoder=encoder),
        image_processor=ImageProcessorV2(size=512),
        device=bench.device,
        dtype=dtype,
    )
    image = np.zeros((512, 512, 4), np.uint8)  # RGBA: hy3dgen's background remover would download
    image[128:384, 160:352] = (180, 120, 60, 255)
    subject = Image.fromarray(image, "RGBA")
    faces: list[int] = []

    def generate() -> None:
        meshes = pipe(
            image=subject,
            num_inference_steps=steps,
            octree_resolution=octree,
            guidance_scale=5.0,
            generator=torch.Generator(bench.device).manual_seed(0),
            enable_pbar=False,
        )
        faces.append(0 if meshes[0] is None else len(meshes[0].faces))

    return {
        "octree_resolution": octree,
        "steps": steps,
        "dtype": str(dtype).removeprefix("torch."),
        **bench.measure(generate),
        "faces": faces[-1],  # random weights: often 0 (no surface); the decode and search still ran
    }


def bench_triposr(bench: Bench, tiny: bool) -> dict[str, Any]:
    import tempfile

    import torch

    from assetcore.worker.backend import StepError
    from services.image3d.triposr.checkpoint import load_triposr
    from services.image3d.triposr.config import PUBLISHED_CONFIG, parse_config
    from services.image3d.triposr.extraction import density_grid, surface
    from services.image3d.triposr.network import Triposr
    from services.image3d.triposr.tiny import build_triposr

    torch.manual_seed(0)
    if tiny:
        folder = Path(tempfile.mkdtemp(prefix="triposr-tiny-"))
        build_triposr(folder)
        model, resolution = load_triposr(folder), 32
    else:
        model, resolution = Triposr(parse_config(PUBLISHED_CONFIG, Path("."))), 256
    model = model.to(bench.device).eval()
    size = model.config.cond_image_size
    image = torch.full((1, 3, size, size), 0.5, device=bench.device)
    image[:, :, size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = torch.tensor([0.7, 0.5, 0.2]).view(
        3, 1, 1
    )
    faces: list[int] = []

    def generate() -> None:
        with torch.inference_mode():
            planes = model.triplanes(image)
        density = density_grid(model, planes[0], resolution, 2**18, lambda _: None)
        try:
            faces.append(len(surface(model, density).faces))
        except StepError:  # random weights: no surface at the density level
            faces.append(0)

    return {
        "resolution": resolution,
        "input_px": size,
        "dtype": "float32",
        **bench.measure(generate),
        "faces": faces[-1],
    }


BENCHES: dict[str, Callable[[Bench, bool], dict[str, Any]]] = {
    "sdxl": bench_sdxl,
    "hunyuan3d": bench_hunyuan3d,
    "triposr": bench_triposr,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="tiny configs on CPU (a smoke test; no timings)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per model after the warm-up")
    parser.add_argument("--only", default=",".join(MODELS), help=f"comma-separated subset of {MODELS}")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    wanted = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(wanted) - set(MODELS))
    if unknown:
        parser.error(f"--only: unknown model(s) {unknown}; models are {MODELS}")

    ensure_torchvision_importable()
    import torch

    if args.tiny:
        device, name = "cpu", platform.processor() or platform.machine()
    elif torch.cuda.is_available():
        device, name = "cuda", torch.cuda.get_device_name(0)
    else:
        print(
            f"gpu_models: no CUDA device (torch {torch.__version__}); this benchmark measures GPU "
            "inference and refuses to report CPU numbers. Run it on a GPU host, or pass --tiny to "
            "smoke-test the code path on CPU.",
            file=sys.stderr,
        )
        return 2
    bench = Bench(device, 1 if args.tiny else args.repeat)
    report: dict[str, Any] = {
        "device": name,
        "device_kind": device,
        "torch": torch.__version__,
        "tiny": args.tiny,
        "models": {},
    }
    for model in wanted:
        report["models"][model] = BENCHES[model](bench, args.tiny)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
