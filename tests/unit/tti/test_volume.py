"""Depth rules and the voxel volume they build from a 2D figure."""

from __future__ import annotations

import numpy as np
import pytest

from assetcore.geometry.camera import Camera
from services.tti.drawing import shapes
from services.tti.drawing.depth import RULES, default_rule, rule_for
from services.tti.drawing.figure import Figure
from services.tti.drawing.palette import MATERIAL_LOOKS, MATERIAL_PBR, paint
from services.tti.drawing.shapes import Polygon
from services.tti.drawing.views import project
from services.tti.drawing.volume import build_volume

SHAPES = {"round", "lathe", "slab", "block", "decal"}


def test_rules_are_found_by_prop_then_piece_name() -> None:
    assert rule_for("shield.rim", "knight", "humanoid") is RULES["shield.rim"]
    assert rule_for("rim", "shield", "prop") is RULES["shield.rim"]
    assert rule_for("hammer.head", "knight", "humanoid") is RULES["head"]  # no hammer rule: the piece's
    assert rule_for("tail", "wolf", "quadruped") is None  # the defaults decide
    assert all(rule.shape in SHAPES for rule in RULES.values())


def test_default_rule_makes_small_pieces_drawn_over_others_decals() -> None:
    assert default_rule(1.0, 0.05).shape == "decal"
    assert default_rule(0.5, 0.05).shape == "round"  # half of it sticks out
    assert default_rule(1.0, 0.8).shape == "round"  # a head drawn over its hood


def test_every_material_has_metallic_and_roughness() -> None:
    assert MATERIAL_PBR.keys() == MATERIAL_LOOKS.keys()
    assert all(0.0 <= p.metallic <= 1.0 and 0.0 <= p.roughness <= 1.0 for p in MATERIAL_PBR.values())


def _figure(*pieces: tuple[str, Polygon]) -> Figure:
    figure = Figure(view="front")
    for name, polygon in pieces:
        figure.add(name, paint("wood"), polygon)
    return figure


def _seen(figure: Figure, azimuth: float, elevation: float = 0.0) -> set[int]:
    volume = build_volume(figure, "object", "prop", margin=0.06, grid=64)
    return set(np.unique(project(volume, Camera.orbit(azimuth, elevation, None), 64).labels).tolist())


def test_a_piece_drawn_over_a_larger_one_is_only_on_its_front() -> None:
    figure = _figure(("slab", shapes.box(-1.0, -1.0, 1.0, 1.0)), ("sticker", shapes.circle(0.0, 0.0, 0.2)))
    assert _seen(figure, 0.0) == {0, 1, 2}
    assert _seen(figure, 180.0) == {0, 1}


def test_a_round_piece_is_as_deep_as_it_is_wide() -> None:
    figure = _figure(("ball", shapes.circle(0.0, 0.0, 1.0)))
    volume = build_volume(figure, "object", "prop", margin=0.06, grid=64)
    occupied = np.argwhere(volume.labels > 0)
    width, height, depth = occupied.max(axis=0) - occupied.min(axis=0) + 1
    assert depth == pytest.approx(width, rel=0.08) and width == pytest.approx(height, abs=1)


def test_side_views_are_mirrored_across_the_body() -> None:
    """A quadruped is drawn from its near side: each near leg gets a twin on the far side."""
    figure = Figure(view="side")
    figure.add("body", paint("fur"), shapes.ellipse(0.0, 1.0, 1.0, 0.4))
    figure.add("leg_front_near", paint("fur"), shapes.capsule((0.5, 1.0), (0.5, 0.0), 0.1))
    labels = build_volume(figure, "animal", "quadruped", margin=0.06, grid=64).labels
    assert np.array_equal(labels, labels[::-1])
    legs = np.nonzero((labels == 2).any(axis=(1, 2)))[0]  # along x, the body's width
    assert legs.min() < 31 and legs.max() > 32 and not (labels[30:34] == 2).any()
