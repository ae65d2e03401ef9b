"""Reference-only attention: how Zero123++ conditions its UNet on the input image's latent.

Each denoising step runs the UNet twice. First on the (noised) condition latent, recording what
every self-attention layer ("attn1") attends over; then on the views' latents, where each
self-attention layer attends over its own tokens followed by the recorded reference tokens of
the same layer. Cross-attention layers are left as they are. The first pass's output is unused.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

_SELF_ATTENTION = "attn1.processor"


class _ReferenceBank:
    """The reference pass's self-attention inputs, by layer, until the views' pass reads them."""

    def __init__(self) -> None:
        self.recording = False
        self.stored: dict[str, torch.Tensor] = {}


class _ReferenceAttention:
    """A self-attention processor that records (reference pass) or also attends over the record."""

    def __init__(self, name: str, bank: _ReferenceBank, inner: Any) -> None:
        self._name = name
        self._bank = bank
        self._inner = inner

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if self._bank.recording:
            self._bank.stored[self._name] = context
        else:
            context = torch.cat([context, self._bank.stored.pop(self._name)], dim=1)
        result: torch.Tensor = self._inner(attn, hidden_states, context, attention_mask)
        return result


class ReferenceUNet:
    """A UNet2DConditionModel whose self-attention also sees a reference latent's tokens."""

    def __init__(self, unet: Any, *, eager: bool) -> None:  # a diffusers UNet2DConditionModel
        self._unet = unet
        self._bank = _ReferenceBank()
        inner = AttnProcessor() if eager else AttnProcessor2_0()
        unet.set_attn_processor(
            {
                name: _ReferenceAttention(name, self._bank, inner)
                if name.endswith(_SELF_ATTENTION)
                else inner
                for name in unet.attn_processors
            }
        )

    def __call__(
        self, sample: torch.Tensor, reference: torch.Tensor, timestep: torch.Tensor, embeddings: torch.Tensor
    ) -> torch.Tensor:
        """The noise (or v) prediction for `sample`; `reference` pairs with it item by item."""
        self._bank.recording = True
        try:
            self._unet(reference, timestep, encoder_hidden_states=embeddings)
        finally:
            self._bank.recording = False
        try:
            prediction: torch.Tensor = self._unet(sample, timestep, encoder_hidden_states=embeddings).sample
        finally:
            self._bank.stored.clear()  # a pass that raised must not leave tensors for the next
        return prediction
