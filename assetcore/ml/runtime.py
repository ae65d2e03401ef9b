"""Where a model runs and in what precision, chosen once per process from `Settings.ml`.

Determinism: seeds drive a CPU `torch.Generator`, so the same seed gives the same initial
noise on any device; on CPU with a fixed thread count the results are byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetcore.config import MlSettings

if TYPE_CHECKING:
    import torch

_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class TorchPlacement:
    device: str  # "cpu" or "cuda"
    dtype_name: str  # "float32", "float16" or "bfloat16"
    compile: bool
    attention: str

    @property
    def dtype(self) -> torch.dtype:
        import torch

        dtype: torch.dtype = getattr(torch, self.dtype_name)
        return dtype

    @property
    def on_gpu(self) -> bool:
        return self.device == "cuda"

    def describe(self) -> str:
        return f"{self.device}/{self.dtype_name}" + ("/compiled" if self.compile else "")

    def generator(self, seed: int) -> torch.Generator:
        """A CPU generator seeded with `seed` (diffusers draws the noise on it, then moves it)."""
        import torch

        return torch.Generator("cpu").manual_seed(seed % (1 << 63))


def placement(settings: MlSettings) -> TorchPlacement:
    """Resolve "auto" device and precision, and apply the thread count. Imports torch."""
    import torch

    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = settings.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("ASSETCORE_ML__DEVICE=cuda but torch sees no CUDA device")
    precision = settings.precision
    if precision == "auto":
        precision = "fp16" if device == "cuda" else "fp32"
    return TorchPlacement(device, _DTYPES[precision], settings.compile, settings.attention)
