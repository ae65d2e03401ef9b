"""Loading model.ckpt: a plain fp32 state dict whose ViT keys use transformers 4.x's names.

transformers 5 renamed the ViT encoder's modules; the checkpoint is remapped on load (and the
tiny builder writes the old names, so the remap is what the tests exercise). Loading is
strict: a missing, unexpected or misshapen tensor refuses, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from assetcore.models.store import ModelError
from services.image3d.triposr.config import load_config
from services.image3d.triposr.network import Triposr

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.ckpt"
_VIT = "image_tokenizer.model."
# transformers 4.x -> 5 names inside each encoder layer (4.x: encoder.layer.N., 5: layers.N.)
_LAYER_RENAMES = (
    ("attention.attention.query.", "attention.q_proj."),
    ("attention.attention.key.", "attention.k_proj."),
    ("attention.attention.value.", "attention.v_proj."),
    ("attention.output.dense.", "attention.o_proj."),
    ("intermediate.dense.", "mlp.fc1."),
    ("output.dense.", "mlp.fc2."),
)
_OLD_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.(.*)$")
_NEW_LAYER = re.compile(r"^layers\.(\d+)\.(.*)$")


def load_triposr(folder: Path) -> Triposr:
    """The model in `folder` (config.yaml + model.ckpt), on the CPU in float32, in eval mode."""
    model = Triposr(load_config(folder / CONFIG_FILE))
    path = folder / WEIGHTS_FILE
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"triposr: {path} is not a readable checkpoint ({exc})") from None
    if not isinstance(saved, Mapping):
        raise ModelError(f"triposr: {path} holds a {type(saved).__name__}, not a state dict")
    _check_tensors(model.state_dict(), to_current(saved), path)
    model.load_state_dict(to_current(saved), strict=True)
    return model.eval()


def to_current(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoint (transformers 4.x) key names -> this model's."""
    return {_renamed(key, _OLD_LAYER, "layers", forward=True): value for key, value in state.items()}


def to_published(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This model's key names -> the published checkpoint's (transformers 4.x)."""
    return {_renamed(key, _NEW_LAYER, "encoder.layer", forward=False): value for key, value in state.items()}


def _renamed(key: str, pattern: re.Pattern[str], prefix: str, *, forward: bool) -> str:
    if not key.startswith(_VIT):
        return key
    match = pattern.match(key[len(_VIT) :])
    if match is None:
        return key
    index, rest = match.groups()
    for old, new in _LAYER_RENAMES:
        source, target = (old, new) if forward else (new, old)
        if rest.startswith(source):
            rest = target + rest[len(source) :]
            break
    return f"{_VIT}{prefix}.{index}.{rest}"


def _check_tensors(
    expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], path: Path
) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    misshapen = [
        f"{k} {tuple(found[k].shape)} (expected {tuple(expected[k].shape)})"
        for k in sorted(set(expected) & set(found))
        if found[k].shape != expected[k].shape
    ]
    problems = [
        f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("misshapen", misshapen))
        if keys
    ]
    if problems:
        raise ModelError(f"triposr: {path} does not match config.yaml: {'; '.join(problems)}")
