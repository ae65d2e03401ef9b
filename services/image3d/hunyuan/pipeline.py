"""Hunyuan3D-2's shape pipeline (hy3dgen) loaded from the store, run to an occupancy grid.

Loading: the parts are built from `config.yaml` with hy3dgen's own `instantiate_from_config`
and given the checkpoint's state dicts strictly, as `from_single_file` does, but from
absolute store paths (nothing is looked up on the hub) and with the conditioner's DINOv2
names mapped to the installed transformers (checkpoint.py). The image goes in as RGBA, so
hy3dgen's background remover (which downloads u2net) is never needed.

Running: hy3dgen's flow-matching loop with `output_type="latent"` and its per-step callback
(progress after every denoising step; the callback raising StepCancelled stops the loop
there), then the VAE and the occupancy decoder over hy3dgen's own dense grid, chunk by chunk
so progress and cancellation also reach the decoding. Surface extraction is left to the
caller: hy3dgen's marching cubes returns None when there is no surface and may return
several components.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)
from PIL import Image

from assetcore.ml.runtime import TorchPlacement
from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from assetcore.models.store import ModelError, StoredModel
from services.image3d.hunyuan import checkpoint
from services.image3d.hunyuan.options import Hunyuan3dOptions

# hy3dgen is imported with this module, i.e. where the worker builds the backend (the main
# thread), not in load() (a worker thread): hy3dgen imports pymeshlab, and pymeshlab first
# loaded on another thread corrupts the heap at process exit (measured: abort in
# PluginManager::~PluginManager after a successful `generate`).
ensure_torchvision_importable()
from hy3dgen.shapegen.models.autoencoders.volume_decoders import generate_dense_grid_points  # noqa: E402
from hy3dgen.shapegen.pipelines import Hunyuan3DDiTFlowMatchingPipeline, instantiate_from_config  # noqa: E402

BOX = 1.01  # hy3dgen's box_v: occupancy is sampled in the cube [-BOX, BOX]^3
LEVEL = 0.0  # the flow-matching pipeline's mc_level: logits above it are inside
REPORTS = 50  # progress reports over the grid's decoding, at most

StepDone = Callable[[int], None]  # after each denoising step, with its index
Decoded = Callable[[float], None]  # the share of the grid decoded so far


def load_pipeline(stored: StoredModel, where: TorchPlacement) -> Any:
    """A Hunyuan3DDiTFlowMatchingPipeline on `where` (ModelError naming a file that is wrong)."""
    config_path = stored.file(checkpoint.CONFIG_FILE)
    config = yaml.safe_load(config_path.read_text())
    if not isinstance(config, dict):
        raise ModelError(f"{config_path} is not a mapping of the pipeline's parts")
    missing = [part for part in (*checkpoint.PARTS, "scheduler", "image_processor") if part not in config]
    if missing:
        raise ModelError(f"{config_path} has no {', '.join(missing)} section")
    weights_path, states = _read_weights(stored)
    modules: dict[str, torch.nn.Module] = {}
    for part in checkpoint.PARTS:
        module = instantiate_from_config(config[part])
        state = states.get(part)
        if state is None:
            raise ModelError(f"{weights_path} has no '{part}.' weights")
        if part == "conditioner":
            state = checkpoint.to_installed_names(state, module.state_dict().keys())
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(
                f"{weights_path}: the '{part}' weights do not fit {config_path}: {exc}"
            ) from None
        modules[part] = module.eval()
    pipeline = Hunyuan3DDiTFlowMatchingPipeline(
        vae=modules["vae"],
        model=modules["model"],
        conditioner=modules["conditioner"],
        scheduler=instantiate_from_config(config["scheduler"]),
        image_processor=instantiate_from_config(config["image_processor"]),
        device=where.device,
        dtype=where.dtype,
    )
    if where.compile:
        pipeline.model = torch.compile(pipeline.model)
    return pipeline


def _read_weights(stored: StoredModel) -> tuple[Path, Mapping[str, Mapping[str, torch.Tensor]]]:
    """The first weights file the folder has, split into its parts."""
    import safetensors.torch

    for name in checkpoint.WEIGHTS_FILES:
        path = stored.file(name)
        if not path.is_file():
            continue
        if path.suffix == ".safetensors":
            return path, checkpoint.split_parts(safetensors.torch.load_file(str(path), device="cpu"))
        parts: dict[str, dict[str, torch.Tensor]] = torch.load(path, map_location="cpu", weights_only=True)
        return path, parts
    raise ModelError(f"{stored.folder} has none of {', '.join(checkpoint.WEIGHTS_FILES)}")


def occupancy_grid(
    pipeline: Any,
    image: Image.Image,
    options: Hunyuan3dOptions,
    generator: torch.Generator,
    step_done: StepDone,
    decoded: Decoded,
) -> npt.NDArray[np.float32]:
    """Occupancy logits on hy3dgen's (octree_resolution + 1)^3 grid over [-BOX, BOX]^3;
    `grid[i, j, k]` is the sample at (x_i, y_j, z_k)."""
    latents = pipeline(
        image=image,
        num_inference_steps=options.inference_steps,
        guidance_scale=options.guidance_scale,
        generator=generator,
        output_type="latent",
        enable_pbar=False,
        callback=lambda index, _timestep, _output: step_done(index),
        callback_steps=1,
    )
    vae = pipeline.vae
    points, shape, _ = generate_dense_grid_points(
        bbox_min=np.full(3, -BOX), bbox_max=np.full(3, BOX), octree_resolution=options.octree_resolution
    )
    queries = torch.from_numpy(points.reshape(-1, 3)).to(latents.device, latents.dtype)
    chunk, count = options.num_chunks, len(queries)
    report_every = max(1, -(-count // chunk) // REPORTS)
    logits = []
    with torch.inference_mode():
        shape_latents = vae(latents / vae.scale_factor)
        for index, start in enumerate(range(0, count, chunk)):
            logits.append(
                vae.geo_decoder(queries=queries[None, start : start + chunk], latents=shape_latents)
            )
            if (index + 1) % report_every == 0:
                decoded(min(start + chunk, count) / count)
        grid = torch.cat(logits, dim=1).reshape(shape).float().cpu().numpy()
    return np.asarray(grid, np.float32)
