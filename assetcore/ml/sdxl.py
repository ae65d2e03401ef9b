"""The one SDXL loader (tti's text-to-image, refine's img2img): store model -> placed pipeline.

    pipe = load_sdxl(StableDiffusionXLPipeline, store.verified("sdxl-base"), placement)
    pipe.scheduler = make_scheduler("dpmpp_2m", pipe.scheduler.config)   # or scheduler= at load
    use_loras(pipe, [(store.verified("lora-toon"), 0.8)])                 # [] turns LoRAs off

A store model is either
- a diffusers folder (model_index.json and the component folders, as the hub lays out
  stabilityai/stable-diffusion-xl-base-1.0), or
- a single-file checkpoint: exactly one top-level `.safetensors` in the original (SGM/LDM)
  key layout, as community fine-tunes ship, beside the diffusers *configs* of its architecture
  (model_index.json, */config.json, the tokenizers, the scheduler; no weights), which
  `from_single_file` reads instead of fetching them from the hub: everything loads offline.

The pipeline is moved to the placement's device and dtype (fp32 on CPU, fp16/bf16 on GPU;
SDXL's VAE upcasts itself to decode, `force_upcast` in its config), its attention runs on
PyTorch's SDPA kernels (or the eager ones where the settings say so), and the UNet is wrapped
in `torch.compile` when the settings ask for it. LoRAs are store models too ("lora-<x>",
one `.safetensors` in diffusers or kohya layout), loaded through peft once per process and
switched per job with `use_loras`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from assetcore.ml.runtime import TorchPlacement
from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from assetcore.models.store import ModelError, StoredModel

PipelineT = TypeVar("PipelineT")

# Scheduler names people use (A1111/ComfyUI style) -> the diffusers class and its settings.
SCHEDULERS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "dpmpp_2m_karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
}


def load_sdxl(
    pipeline_class: type[PipelineT],
    model: StoredModel,
    placement: TorchPlacement,
    *,
    scheduler: str | None = None,
) -> PipelineT:
    """`pipeline_class` (a diffusers SDXL pipeline) from a verified store model, placed.

    `scheduler` names an entry of SCHEDULERS; None keeps the model's own.
    """
    ensure_torchvision_importable()
    checkpoint = single_file_checkpoint(model)
    common: dict[str, Any] = {"dtype": placement.dtype, "local_files_only": True}
    if checkpoint is None:
        pipe: Any = pipeline_class.from_pretrained(model.folder, **common)  # type: ignore[attr-defined]
    else:
        pipe = pipeline_class.from_single_file(  # type: ignore[attr-defined]
            str(checkpoint), config=str(model.folder), **common
        )
    pipe.to(placement.device)
    pipe.set_progress_bar_config(disable=True)
    _set_attention(pipe, placement.attention)
    if scheduler is not None:
        pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    if placement.compile:
        import torch

        pipe.unet = torch.compile(pipe.unet)
    placed: PipelineT = pipe
    return placed


def single_file_checkpoint(model: StoredModel) -> Path | None:
    """The model's single-file checkpoint, or None for a diffusers folder."""
    top_level = [
        f.path for f in model.manifest.files if "/" not in f.path and f.path.endswith(".safetensors")
    ]
    if len(top_level) > 1:
        raise ModelError(
            f"model {model.manifest.name!r}: several top-level checkpoints ({', '.join(sorted(top_level))}); "
            "a single-file model holds exactly one"
        )
    if top_level:
        return model.file(top_level[0])
    if not model.file("model_index.json").is_file():
        raise ModelError(
            f"model {model.manifest.name!r}: {model.folder} holds neither model_index.json (a diffusers "
            "folder) nor a .safetensors checkpoint"
        )
    return None


def make_scheduler(name: str, config: Mapping[str, Any]) -> Any:
    """The scheduler `name` (a SCHEDULERS key) configured like the model's own `config`."""
    import diffusers

    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r} (known: {', '.join(SCHEDULERS)})")
    class_name, settings = SCHEDULERS[name]
    return getattr(diffusers, class_name).from_config(config, **settings)


def use_loras(pipe: Any, loras: Sequence[tuple[StoredModel, float]]) -> None:
    """Make exactly these LoRAs (model, scale) active; load those not loaded yet (once each)."""
    loaded = {name for names in pipe.get_list_adapters().values() for name in names}
    names = [_adapter_name(model) for model, _ in loras]
    for (model, _), name in zip(loras, names, strict=True):
        if name not in loaded:
            pipe.load_lora_weights(str(model.folder), weight_name=_lora_file(model), adapter_name=name)
    if names:
        pipe.enable_lora()
        pipe.set_adapters(names, adapter_weights=[scale for _, scale in loras])
    elif loaded:
        pipe.disable_lora()


def _adapter_name(model: StoredModel) -> str:
    """peft's adapter name: the store name, made an identifier (it names submodules)."""
    return "".join(c if c.isalnum() else "_" for c in model.manifest.name)


def _lora_file(model: StoredModel) -> str:
    weights = [f.path for f in model.manifest.files if f.path.endswith(".safetensors")]
    if len(weights) != 1:
        raise ModelError(
            f"model {model.manifest.name!r}: a LoRA holds exactly one .safetensors file, found {len(weights)}"
        )
    return weights[0]


def _set_attention(pipe: Any, attention: str) -> None:
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    processor = AttnProcessor2_0() if attention == "sdpa" else AttnProcessor()
    for component in (pipe.unet, pipe.vae):
        component.set_attn_processor(processor)
