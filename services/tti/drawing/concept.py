"""Prompt analysis in, concept image and its six views out: pick the builder, rasterise, shade;
give the figure depth and render it from the views' cameras."""

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
from services.tti.drawing.views import SubjectViews, render_views
from services.tti.drawing.volume import build_volume

MARGIN = 0.06  # empty border around the subject, as a fraction of the side


@dataclass(frozen=True)
class Concept:
    rgba: npt.NDArray[np.uint8]  # (size, size, 4)
    view: str  # front | side
    symmetric: bool  # the matte is mirror-symmetric about the vertical centre line
    views: SubjectViews  # six orthographic views, framed as the image is


def render_concept(analysis: PromptAnalysis, *, seed: int, prompt: str, style: Style, size: int) -> Concept:
    """Deterministic in (analysis, seed, prompt, style, size)."""
    shape_rng, texture_rng, views_rng = _generators(seed, prompt, style.name)
    figure = build_figure(analysis, shape_rng)
    raster = rasterise(figure, size, MARGIN)
    rgba = shade(raster, figure.pieces, style, texture_rng)
    volume = build_volume(figure, analysis.subject, analysis.category, margin=MARGIN)
    views = render_views(volume, style, views_rng)
    return Concept(rgba, figure.view, figure.symmetric, views)


def build_figure(analysis: PromptAnalysis, rng: np.random.Generator) -> Figure:
    ctx = DrawContext(PaintBook(analysis), rng, frozenset(analysis.features), analysis.variant)
    if analysis.category == "humanoid":
        return build_humanoid(ctx)
    if analysis.category == "quadruped":
        return build_quadruped(ctx)
    return build_prop(analysis.subject, ctx)


def _generators(
    seed: int, prompt: str, style: str
) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Shapes, the image's textures and the views' textures: spawned children, so adding the third
    left the first two (and the image's bytes) as they were."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}\x00{style}".encode()).digest()
    entropy = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    shapes, textures, views = np.random.SeedSequence(entropy).spawn(3)
    return np.random.default_rng(shapes), np.random.default_rng(textures), np.random.default_rng(views)
