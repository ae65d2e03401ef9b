"""Subject matting with a salient-object ONNX model from the store (name "matte").

The layout is rembg's u2net family: `model.onnx`, one input 1x3xSxS (RGB scaled by the image's
maximum, then ImageNet mean/std), first output 1x1xSxS saliency. Like rembg, the saliency is
stretched to 0..1 by its own minimum and maximum, so the map always spans the whole range.
S is read from the graph (320 for u2net); onnxruntime runs it on CUDA when it has that
provider, else on the CPU.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetcore.models.store import ModelError, ModelStore

MODEL_NAME = "matte"
MODEL_FILE = "model.onnx"
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_DEFAULT_SIDE = 320  # u2net's side, for graphs exported with a dynamic one
_FLAT = 1e-6  # a saliency range below this carries no subject


@dataclass(frozen=True)
class SubjectMatter:
    session: Any  # onnxruntime.InferenceSession
    side: int
    fingerprint: str

    def alpha(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The subject's alpha (H x W, 0..1) of an H x W x 3 image."""
        height, width = rgb.shape[:2]
        small = np.asarray(
            Image.fromarray(rgb, mode="RGB").resize((self.side, self.side), Image.Resampling.LANCZOS),
            dtype=np.float32,
        )
        scaled = small / max(float(small.max()), 1e-6)
        tensor = ((scaled - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
        name = self.session.get_inputs()[0].name
        saliency = np.asarray(self.session.run(None, {name: tensor})[0], dtype=np.float32)[0, 0]
        low, high = float(saliency.min()), float(saliency.max())
        if high - low < _FLAT:
            return np.zeros((height, width), dtype=np.float32)
        stretched = (saliency - low) / (high - low)
        resized = Image.fromarray(stretched, mode="F").resize((width, height), Image.Resampling.LANCZOS)
        out: npt.NDArray[np.float32] = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return out


def load_matter(store: ModelStore) -> SubjectMatter | None:
    """The store's matting model, verified against its manifest; None when the store has none."""
    if store.missing(MODEL_NAME) is not None:
        return None
    stored = store.verified(MODEL_NAME)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the CUDA provider's fallback warnings are not ours to act on
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    path = stored.file(MODEL_FILE)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise ModelError(f"model {MODEL_NAME!r}: {path} is not a loadable ONNX graph: {exc}") from exc
    return SubjectMatter(session, _input_side(session, path), stored.fingerprint)


def _input_side(session: Any, path: Path) -> int:
    shape = session.get_inputs()[0].shape
    if len(shape) != 4 or shape[1] != 3:
        raise ModelError(f"model {MODEL_NAME!r}: {path} takes input {shape}, expected 1x3xSxS")
    side = shape[2]
    return side if isinstance(side, int) else _DEFAULT_SIDE


def build_tiny_matte(folder: Path) -> None:
    """A tiny random conv net in the u2net layout (input 1x3x32x32, sigmoid output 1x1x32x32)."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 1, 3, padding=1),
        torch.nn.Sigmoid(),
    ).eval()
    example = torch.zeros(1, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, chosen on purpose
        torch.onnx.export(
            net,
            (example,),
            str(folder / MODEL_FILE),
            input_names=["input.1"],
            output_names=["d0"],
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: no onnxscript dependency, reproducible bytes
        )
