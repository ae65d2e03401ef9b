"""Prompt analysis in, concept image out: pick the builder, rasterise, shade."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetcore.prompting import PromptAnalysis
from services.tti.drawing.figure import Figure
from services.tti.drawing.humanoid import build_humanoid
from services.tti.drawing.palette import PaintBook, Style
from services.tti.drawing.props import DrawContext, build_prop
from services.tti.drawing.quadruped import build_quadruped
from services.tti.drawing.raster import rasterise
from services.tti.drawing.shading import shade

MARGIN = 0.06  # empty border around the subject, as a fraction of the side


@dataclass(frozen=True)
class Concept:
    rgba: npt.NDArray[np.uint8]  # (size, size, 4)
    view: str  # front | side
    symmetric: bool  # the matte is mirror-symmetric about the vertical centre line


def render_concept(analysis: PromptAnalysis, *, seed: int, prompt: str, style: Style, size: int) -> Concept:
    """Deterministic in (analysis, seed, prompt, style, size)."""
    shape_rng, texture_rng = _generators(seed, prompt, style.name)
    figure = build_figure(analysis, shape_rng)
    raster = rasterise(figure, size, MARGIN)
    return Concept(shade(raster, figure.pieces, style, texture_rng), figure.view, figure.symmetric)


def build_figure(analysis: PromptAnalysis, rng: np.random.Generator) -> Figure:
    ctx = DrawContext(PaintBook(analysis), rng, frozenset(analysis.features), analysis.variant)
    if analysis.category == "humanoid":
        return build_humanoid(ctx)
    if analysis.category == "quadruped":
        return build_quadruped(ctx)
    return build_prop(analysis.subject, ctx)


def _generators(seed: int, prompt: str, style: str) -> tuple[np.random.Generator, np.random.Generator]:
    digest = hashlib.sha256(f"{seed}\x00{prompt}\x00{style}".encode()).digest()
    entropy = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    shapes, textures = np.random.SeedSequence(entropy).spawn(2)
    return np.random.default_rng(shapes), np.random.default_rng(textures)
