"""The TripoSR network: image tokens -> triplane -> density, module names as in the checkpoint.

image_tokenizer.model   transformers ViTModel (DINO ViT-B/16 config), ImageNet-normalised input
tokenizer.embeddings    learnable triplane tokens (3, C, P, P)
backbone                1D transformer over the 3*P*P tokens: self-attention, cross-attention
                        to the image tokens, GEGLU feed-forward (diffusers' block layout)
post_processor.upsample ConvTranspose2d, each plane P x P -> 2P x 2P
decoder.layers          NeRF MLP (SiLU): triplane features -> density + 3 colour features
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from services.image3d.triposr.config import BackboneConfig, DecoderConfig, TriposrConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageTokenizer(nn.Module):
    def __init__(self, vit: dict[str, Any]) -> None:
        super().__init__()
        ensure_torchvision_importable()  # transformers' vision modules import torchvision
        from transformers import ViTConfig, ViTModel

        self.model = ViTModel(ViTConfig(**vit))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in 0..1 -> (B, tokens, hidden)."""
        mean = images.new_tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
        std = images.new_tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
        normalised = (images - mean) / std
        hidden: torch.Tensor = self.model(normalised, interpolate_pos_encoding=True).last_hidden_state
        return hidden


class TriplaneTokenizer(nn.Module):
    def __init__(self, plane_size: int, channels: int) -> None:
        super().__init__()
        self.plane_size = plane_size
        self.embeddings = nn.Parameter(torch.randn(3, channels, plane_size, plane_size) / channels**0.5)

    def forward(self, batch: int) -> torch.Tensor:
        """(B, C, 3*P*P): planes, then rows, then columns along the token axis."""
        channels = self.embeddings.shape[1]
        tokens = self.embeddings.permute(1, 0, 2, 3).reshape(channels, -1)
        return tokens.unsqueeze(0).expand(batch, -1, -1)

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, 3*P*P) -> (B, 3, C, P, P)."""
        batch, channels, _ = tokens.shape
        planes = tokens.reshape(batch, channels, 3, self.plane_size, self.plane_size)
        return planes.permute(0, 2, 1, 3, 4)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, context_dim: int | None, bias: bool) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=bias)
        self.to_k = nn.Linear(context_dim or dim, inner, bias=bias)
        self.to_v = nn.Linear(context_dim or dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        source = x if context is None else context
        q, k, v = (self._heads(p) for p in (self.to_q(x), self.to_k(source), self.to_v(source)))
        attended = F.scaled_dot_product_attention(q, k, v)
        batch, _, tokens, _ = attended.shape
        merged = attended.transpose(1, 2).reshape(batch, tokens, -1)
        out: torch.Tensor = self.to_out[0](merged)
        return out

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        return x.reshape(batch, tokens, self.heads, -1).transpose(1, 2)


class Geglu(nn.Module):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        gated: torch.Tensor = value * F.gelu(gate)
        return gated


class FeedForward(nn.Module):
    """diffusers' layout: net.0 the GEGLU projection, net.1 dropout, net.2 the output."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(Geglu(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


class TransformerBlock(nn.Module):
    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        dim = config.num_attention_heads * config.attention_head_dim
        heads, head_dim, bias = config.num_attention_heads, config.attention_head_dim, config.attention_bias
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, head_dim, None, bias)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, head_dim, config.cross_attention_dim, bias)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        out: torch.Tensor = x + self.ff(self.norm3(x))
        return out


class Backbone(nn.Module):
    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        inner = config.num_attention_heads * config.attention_head_dim
        self.norm = nn.GroupNorm(config.norm_num_groups, config.in_channels, eps=1e-6)
        self.proj_in = nn.Linear(config.in_channels, inner)
        self.transformer_blocks = nn.ModuleList([TransformerBlock(config) for _ in range(config.num_layers)])
        self.proj_out = nn.Linear(inner, config.in_channels)

    def forward(self, tokens: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, L) triplane tokens, attending to (B, N, D) image tokens -> (B, C, L)."""
        hidden = self.proj_in(self.norm(tokens).transpose(1, 2))
        for block in self.transformer_blocks:
            hidden = block(hidden, image_tokens)
        out: torch.Tensor = tokens + self.proj_out(hidden).transpose(1, 2)
        return out


class PostProcessor(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.upsample = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        batch = planes.shape[0]
        upsampled: torch.Tensor = self.upsample(planes.flatten(0, 1))
        return upsampled.reshape(batch, 3, *upsampled.shape[1:])


class Decoder(nn.Module):
    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        if config.activation != "silu":
            raise ValueError(f"decoder activation {config.activation!r}: TripoSR's decoder uses silu")
        widths = [config.in_channels] + [config.n_neurons] * config.n_hidden_layers
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), nn.SiLU()]
        layers.append(nn.Linear(config.n_neurons, 4))  # density + 3 colour features
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layers(features)
        return out


class Triposr(nn.Module):
    def __init__(self, config: TriposrConfig) -> None:
        super().__init__()
        self.config = config
        self.image_tokenizer = ImageTokenizer(config.vit)
        self.tokenizer = TriplaneTokenizer(config.plane_size, config.num_channels)
        self.backbone = Backbone(config.backbone)
        self.post_processor = PostProcessor(config.num_channels, config.plane_channels)
        self.decoder = Decoder(config.decoder)

    def triplanes(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) images on grey -> (B, 3, C, 2P, 2P) triplanes (the "scene codes")."""
        image_tokens = self.image_tokenizer(images)
        tokens = self.backbone(self.tokenizer(images.shape[0]), image_tokens)
        planes: torch.Tensor = self.post_processor(self.tokenizer.detokenize(tokens))
        return planes

    def density(self, triplane: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Activated density (N,) at (N, 3) positions within +-radius, for one (3, C, H, W) triplane.

        Planes are indexed by (x, y), (x, z) and (y, z); the activation runs in float32 (exp
        overflows half precision long before the surface's level matters).
        """
        coords = positions / self.config.renderer.radius
        grids = torch.stack([coords[:, [0, 1]], coords[:, [0, 2]], coords[:, [1, 2]]]).unsqueeze(1)
        sampled = F.grid_sample(triplane, grids.to(triplane.dtype), mode="bilinear", align_corners=False)
        features = sampled.squeeze(2).permute(2, 0, 1).flatten(1)  # (N, 3 * C), plane-major
        raw = self.decoder(features)[:, 0].float() + self.config.renderer.density_bias
        density: torch.Tensor = _activation(self.config.renderer.density_activation)(raw)
        return density


def _activation(name: str) -> nn.Module:
    if name in ("exp", "trunc_exp"):  # trunc_exp differs from exp only in its gradient
        return _Exp()
    if name == "softplus":
        return nn.Softplus()
    raise ValueError(f"density activation {name!r} is not one TripoSR uses")


class _Exp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)
