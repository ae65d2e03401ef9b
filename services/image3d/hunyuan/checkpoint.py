"""Hunyuan3D-2's shape checkpoint: the published file layout and its DINOv2 key names.

tencent/Hunyuan3D-2's `hunyuan3d-dit-v2-0` folder holds `config.yaml` (one `target`/`params`
entry per part: model, vae, conditioner, scheduler, image_processor) and
`model.fp16.safetensors` (or `.ckpt`), one flat state dict whose keys start with the part they belong to
(`model.`, `vae.`, `conditioner.`). The conditioner's DINOv2 was saved under transformers 4,
whose names transformers 5 changed (`attention.attention.query` -> `attention.q_proj`, the
SwiGLU `weights_in` split into `gate_proj`/`up_proj`); `to_installed_names` maps them to the
installed version's names and `to_published_names` back (the tiny model's builder).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import torch

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.fp16.safetensors"
# What a folder may hold, in order of preference: the published safetensors, or the `.ckpt`
# (a torch pickle of {"model": ..., "vae": ..., "conditioner": ...}) hy3dgen also reads.
WEIGHTS_FILES = (WEIGHTS_FILE, "model.safetensors", "model.fp16.ckpt", "model.ckpt")
PARTS = ("model", "vae", "conditioner")

# transformers 4 name -> transformers 5 name, within a DINOv2 layer.
_RENAMES = (
    ("attention.attention.query.", "attention.q_proj."),
    ("attention.attention.key.", "attention.k_proj."),
    ("attention.attention.value.", "attention.v_proj."),
    ("attention.output.dense.", "attention.o_proj."),
    ("mlp.weights_out.", "mlp.down_proj."),
)
_FUSED_IN = re.compile(r"^(.*)\.mlp\.weights_in\.(weight|bias)$")
_GATE = re.compile(r"^(.*)\.mlp\.gate_proj\.(weight|bias)$")


def split_parts(flat: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{"model": {...}, "vae": {...}, "conditioner": {...}} from the flat published keys."""
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in flat.items():
        part, _, rest = key.partition(".")
        parts.setdefault(part, {})[rest] = tensor
    return parts


def join_parts(parts: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {f"{part}.{key}": tensor for part, state in parts.items() for key, tensor in state.items()}


def to_installed_names(
    state: Mapping[str, torch.Tensor], expected: Collection[str]
) -> dict[str, torch.Tensor]:
    """The conditioner's state with transformers-4 DINOv2 names renamed where the installed
    model (whose keys are `expected`) uses the transformers-5 ones; others pass unchanged."""
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key in expected:
            renamed[key] = tensor
        elif fused := _FUSED_IN.match(key):
            gate, up = tensor.chunk(2, dim=0)  # transformers 4: silu(first half) * second half
            renamed[f"{fused[1]}.mlp.gate_proj.{fused[2]}"] = gate
            renamed[f"{fused[1]}.mlp.up_proj.{fused[2]}"] = up
        else:
            renamed[_renamed(key, forward=True)] = tensor
    return renamed


def to_published_names(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of `to_installed_names`: transformers-4 names, as the published file has."""
    published: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if gate := _GATE.match(key):
            up = state[f"{gate[1]}.mlp.up_proj.{gate[2]}"]
            published[f"{gate[1]}.mlp.weights_in.{gate[2]}"] = torch.cat([tensor, up], dim=0)
        elif ".mlp.up_proj." not in key:
            published[_renamed(key, forward=False)] = tensor
    return published


def _renamed(key: str, *, forward: bool) -> str:
    for old, new in _RENAMES:
        source, target = (old, new) if forward else (new, old)
        if source in key:
            return key.replace(source, target)
    return key
