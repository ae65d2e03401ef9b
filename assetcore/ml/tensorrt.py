"""TensorRT for the SDXL UNet, through torch-tensorrt's torch.compile backend (CUDA only).

    reason = tensorrt_unavailable()            # None where it can run
    pipe.unet = compile_unet_tensorrt(pipe.unet, dtype=torch.float16)

torch.compile wraps the module, so the result still answers `.config`, `.add_embedding` and
`.dtype`, which diffusers' SDXL pipelines read; only the forward runs through TensorRT. Engines
are built on the first call for the shapes seen (dynamic=False: one engine per batch and
resolution, minutes for the full UNet), so a backend warms up at load time with its
production resolution and both classifier-free-guidance halves (batch 2). Numerics are
TensorRT's fp16 kernels: compare outputs with an fp16 tolerance, not fp32's.

torch-tensorrt is not part of the ml extra: its wheels are CUDA builds pinned to one torch
release; GPU images install the one matching their torch (deploy/docker/Dockerfile).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def tensorrt_unavailable() -> str | None:
    """Why the TensorRT path cannot run in this process, or None when it can."""
    import torch

    if not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__} sees none)"
    if importlib.util.find_spec("torch_tensorrt") is None:
        return "the torch_tensorrt module is not installed (pip install torch-tensorrt matching this torch)"
    return None


def compile_unet_tensorrt(unet: Any, *, dtype: torch.dtype, min_block_size: int = 5) -> Any:
    """`unet` (already on CUDA in `dtype`) with its forward compiled to TensorRT engines.

    min_block_size: the fewest consecutive supported ops TensorRT takes over; smaller runs
    stay in PyTorch (torch-tensorrt's default, 5)."""
    reason = tensorrt_unavailable()
    if reason is not None:
        raise RuntimeError(f"TensorRT is unavailable: {reason}")
    import torch
    import torch_tensorrt  # noqa: F401  (registers the "torch_tensorrt" backend)

    options: dict[str, Any] = {
        "enabled_precisions": {dtype},
        "truncate_long_and_double": True,  # timesteps arrive as int64/float64 scalars
        "min_block_size": min_block_size,
    }
    return torch.compile(unet, backend="torch_tensorrt", dynamic=False, options=options)
