"""Export an SDXL UNet and VAE decoder to ONNX, and check the exports against torch.

    unet_inputs = unet_example_inputs(unet, batch=2, latent_size=128)
    export_unet(unet, out / "unet.onnx", unet_inputs)
    report = check_export(out / "unet.onnx", unet_for_export(unet), unet_example_inputs(unet, batch=1))

SDXL's UNet takes its pooled text embedding and size/crop ids through `added_cond_kwargs`, a
dict ONNX cannot express, so the exported graph is a wrapper with five flat inputs (`UNET_INPUTS`).
Batch, latent height/width and token count are dynamic axes: one export serves any resolution
that is a multiple of 8 latents (64 px) and classifier-free guidance (batch 2) or not.

The exporter is torch's TorchScript-based one (`dynamo=False`): torch 2.13's default exporter
needs onnxscript, which the ml extra does not install. Models over 2 GB (the full UNet in fp32,
10 GB) are written with their weights in external data files beside the .onnx; keep them together.
Exports are fp32: onnxruntime's CPU provider runs fp32, and SDXL's VAE overflows in fp16.

The check: run the ONNX file with onnxruntime (CPU) and the torch module on the same inputs,
preferably of other shapes than the export's (that proves the dynamic axes), and accept when
    max |onnx - torch| <= atol + rtol * max |torch|.
`TOLERANCE` (atol 1e-5, rtol 1e-4) is why: both sides compute in fp32 (unit roundoff 6e-8);
they differ only in the order of floating-point sums (onnxruntime fuses attention, layer norm,
GELU and reorders reductions), which across SDXL's depth measures ~1e-6 relative on the tiny
models and stays below ~1e-5 on deep ones. A wrong export (a shape or a timestep frozen into the
graph, a dropped conditioning input) is off by O(1) relative, four orders of magnitude above.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assetcore.ml.torchvision_compat import ensure_torchvision_importable

OPSET = 17
UNET_INPUTS = ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids")
VAE_DECODER_INPUTS = ("latents",)
SDXL_TIME_IDS = 6  # original size, crop top-left, target size (the refiner: 5, with the aesthetic score)


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float

    def limit(self, reference_max_abs: float) -> float:
        return self.atol + self.rtol * reference_max_abs


TOLERANCE = Tolerance(atol=1e-5, rtol=1e-4)


@dataclass(frozen=True)
class OnnxCheck:
    """One comparison of an ONNX export with its torch module on the same inputs."""

    component: str
    shapes: dict[str, list[int]]
    max_abs_diff: float
    reference_max_abs: float
    limit: float
    onnx_seconds: float
    torch_seconds: float

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.limit

    @property
    def relative(self) -> float:
        return self.max_abs_diff / max(self.reference_max_abs, 1e-12)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "relative": self.relative}


def unet_for_export(unet: Any) -> Any:
    """The UNet with flat inputs: (sample, timestep, encoder_hidden_states, text_embeds, time_ids)."""
    import torch

    class SdxlUNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unet = unet

        def forward(
            self,
            sample: torch.Tensor,
            timestep: torch.Tensor,
            encoder_hidden_states: torch.Tensor,
            text_embeds: torch.Tensor,
            time_ids: torch.Tensor,
        ) -> torch.Tensor:
            added = {"text_embeds": text_embeds, "time_ids": time_ids}
            out: torch.Tensor = self.unet(
                sample, timestep, encoder_hidden_states, added_cond_kwargs=added, return_dict=False
            )[0]
            return out

    return SdxlUNet().eval()


def vae_decoder_for_export(vae: Any) -> Any:
    """The VAE's latent -> image half (post-quant conv and decoder; latents already unscaled)."""
    import torch

    class VaeDecoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vae = vae

        def forward(self, latents: torch.Tensor) -> torch.Tensor:
            image: torch.Tensor = self.vae.decode(latents, return_dict=False)[0]
            return image

    return VaeDecoder().eval()


def unet_example_inputs(
    unet: Any,
    *,
    batch: int = 2,
    latent_size: int = 16,
    tokens: int = 77,
    time_ids: int = SDXL_TIME_IDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Random inputs of the shapes `unet` takes, in UNET_INPUTS order (the timestep a scalar)."""
    import torch

    config = unet.config
    pooled = config.projection_class_embeddings_input_dim - time_ids * config.addition_time_embed_dim
    if pooled <= 0:
        raise ValueError(f"the UNet's text_time embedding has no room for {time_ids} time ids")
    generator = torch.Generator("cpu").manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    return {
        "sample": randn(batch, config.in_channels, latent_size, latent_size),
        "timestep": torch.tensor(999.0 * torch.rand((), generator=generator).item()),
        "encoder_hidden_states": randn(batch, tokens, config.cross_attention_dim),
        "text_embeds": randn(batch, pooled),
        "time_ids": torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0][:time_ids]] * batch),
    }


def vae_example_inputs(vae: Any, *, batch: int = 1, latent_size: int = 16, seed: int = 0) -> dict[str, Any]:
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    shape = (batch, vae.config.latent_channels, latent_size, latent_size)
    return {"latents": torch.randn(*shape, generator=generator)}


def export_unet(unet: Any, path: Path, inputs: Mapping[str, Any], *, opset: int = OPSET) -> Path:
    batch_and_size = {0: "batch", 2: "height", 3: "width"}
    return _export(
        unet_for_export(unet),
        path,
        inputs,
        output="noise_pred",
        dynamic_axes={
            "sample": batch_and_size,
            "encoder_hidden_states": {0: "batch", 1: "tokens"},
            "text_embeds": {0: "batch"},
            "time_ids": {0: "batch"},
            "noise_pred": batch_and_size,
        },
        opset=opset,
    )


def export_vae_decoder(vae: Any, path: Path, inputs: Mapping[str, Any], *, opset: int = OPSET) -> Path:
    return _export(
        vae_decoder_for_export(vae),
        path,
        inputs,
        output="image",
        dynamic_axes={
            "latents": {0: "batch", 2: "height", 3: "width"},
            "image": {0: "batch", 2: "pixel_height", 3: "pixel_width"},
        },
        opset=opset,
    )


def _export(
    module: Any,
    path: Path,
    inputs: Mapping[str, Any],
    *,
    output: str,
    dynamic_axes: dict[str, dict[int, str]],
    opset: int,
) -> Path:
    ensure_torchvision_importable()
    import torch
    from torch.jit._trace import TracerWarning

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # The trace freezes diffusers' shape-dependent branches (`.contiguous()` for huge
        # batches, size asserts); none changes values, and check_export runs other shapes.
        warnings.simplefilter("ignore", TracerWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message="The feature will be removed")
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=[output],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            dynamo=False,
        )
    return path


def onnx_session(path: Path, *, threads: int | None = None) -> Any:
    """An onnxruntime CPU session (threads: intra-op threads; None: onnxruntime's default)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_export(
    path: Path,
    module: Any,
    inputs: Mapping[str, Any],
    *,
    component: str,
    tolerance: Tolerance = TOLERANCE,
    threads: int | None = None,
) -> OnnxCheck:
    """Run the export and `module` (a *_for_export wrapper) on `inputs` and compare."""
    import numpy as np
    import torch

    session = onnx_session(path, threads=threads)
    feeds = {name: tensor.numpy() for name, tensor in inputs.items()}
    started = time.perf_counter()
    got = np.asarray(session.run(None, feeds)[0])
    onnx_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with torch.no_grad():
        want = module(*inputs.values()).numpy()
    torch_seconds = time.perf_counter() - started
    if got.shape != want.shape:
        raise ValueError(f"{component}: ONNX output shape {got.shape} differs from torch's {want.shape}")
    reference = float(np.abs(want).max())
    return OnnxCheck(
        component=component,
        shapes={name: list(tensor.shape) for name, tensor in inputs.items()},
        max_abs_diff=float(np.abs(got - want).max()),
        reference_max_abs=reference,
        limit=tolerance.limit(reference),
        onnx_seconds=onnx_seconds,
        torch_seconds=torch_seconds,
    )


class OnnxUNet:
    """An exported UNet called like diffusers' UNet2DConditionModel in a denoising loop:
    `unet(sample, t, encoder_hidden_states, added_cond_kwargs={...}, return_dict=False)[0]`.
    Tensors in and out are torch tensors on CPU, fp32."""

    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        self._session = onnx_session(path, threads=threads)
        names = tuple(i.name for i in self._session.get_inputs())
        if names != UNET_INPUTS:
            raise ValueError(f"{path} is not an SDXL UNet export: inputs {names}, expected {UNET_INPUTS}")

    def __call__(
        self,
        sample: Any,
        timestep: Any,
        encoder_hidden_states: Any,
        *,
        added_cond_kwargs: Mapping[str, Any],
        return_dict: bool = False,
    ) -> tuple[Any]:
        import torch

        if return_dict:
            raise ValueError("OnnxUNet returns a tuple only (return_dict=False)")
        feeds = {
            "sample": sample,
            "timestep": torch.as_tensor(timestep, dtype=torch.float32).reshape(()),
            "encoder_hidden_states": encoder_hidden_states,
            "text_embeds": added_cond_kwargs["text_embeds"],
            "time_ids": added_cond_kwargs["time_ids"],
        }
        arrays = {name: value.detach().to("cpu", torch.float32).numpy() for name, value in feeds.items()}
        return (torch.from_numpy(self._session.run(None, arrays)[0]),)


def sdxl_time_ids(folder: Path) -> int:
    """6 for a base pipeline folder; 5 for the refiner (its score replaces the target size)."""
    index = json.loads((folder / "model_index.json").read_text())
    return SDXL_TIME_IDS - 1 if index.get("requires_aesthetics_score") else SDXL_TIME_IDS


def export_sdxl(
    folder: Path,
    out: Path,
    *,
    latent_size: int = 128,
    check_latent_size: int | None = None,
    threads: int | None = None,
    tolerance: Tolerance = TOLERANCE,
) -> list[OnnxCheck]:
    """Export `folder`'s unet/ and vae/ (a diffusers SDXL folder) to out/unet/model.onnx and
    out/vae_decoder/model.onnx, then check each at other shapes than the export's (batch 1, and
    `check_latent_size`, default half of `latent_size`). Raises ValueError when a check fails."""
    ensure_torchvision_importable()
    from diffusers import AutoencoderKL, UNet2DConditionModel

    check_size = check_latent_size or max(8, latent_size // 2)
    unet = UNet2DConditionModel.from_pretrained(folder / "unet").eval()
    vae = AutoencoderKL.from_pretrained(folder / "vae").eval()
    time_ids = sdxl_time_ids(folder)
    unet_path = export_unet(
        unet,
        out / "unet" / "model.onnx",
        unet_example_inputs(unet, latent_size=latent_size, time_ids=time_ids),
    )
    vae_path = export_vae_decoder(
        vae, out / "vae_decoder" / "model.onnx", vae_example_inputs(vae, batch=2, latent_size=latent_size)
    )
    checks = [
        check_export(
            unet_path,
            unet_for_export(unet),
            unet_example_inputs(unet, batch=1, latent_size=check_size, tokens=77, time_ids=time_ids, seed=1),
            component="unet",
            tolerance=tolerance,
            threads=threads,
        ),
        check_export(
            vae_path,
            vae_decoder_for_export(vae),
            vae_example_inputs(vae, batch=1, latent_size=check_size, seed=1),
            component="vae_decoder",
            tolerance=tolerance,
            threads=threads,
        ),
    ]
    failed = [c for c in checks if not c.passed]
    if failed:
        raise ValueError(
            "; ".join(
                f"{c.component}: max |onnx - torch| {c.max_abs_diff:.3g} > {c.limit:.3g}" for c in failed
            )
        )
    return checks
