"""Props in front view, each drawn in its own units: standing on y = 0, centred on x = 0, about 1 tall.

Each kind also says where a hand grips it and how long it is when a character holds it, so the
humanoid builder draws the same sword into a knight's hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.tti.drawing import shapes
from services.tti.drawing.figure import Figure, Paint
from services.tti.drawing.palette import COLOUR_RGB, PaintBook, colour, paint
from services.tti.drawing.shapes import Point, Polygon

_BLACK = Paint((0.08, 0.07, 0.07), "paint")
_WHITE = Paint((0.97, 0.96, 0.93), "paint")
_BARK = (0.42, 0.28, 0.16)


@dataclass(frozen=True)
class DrawContext:
    book: PaintBook
    rng: np.random.Generator
    features: frozenset[str] = frozenset()  # PromptAnalysis.features
    variant: str = ""  # the prompt's own word for the class ("pine", "candle"), or ""


PropDrawer = Callable[[Figure, DrawContext], None]


@dataclass(frozen=True)
class PropKind:
    draw: PropDrawer
    symmetric: bool  # mirror-symmetric about x = 0
    grip: Point = (0.0, 0.5)  # where a hand holds it, in the prop's units
    held_length: float = 0.0  # its height in a holder's heights; 0: characters do not hold it
    hand: str = "right"  # right (weapons) or left (shields, bows, lights)


def _sword(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("hilt")
    blade = ctx.book.paint(("sword",), paint("steel"))
    short = ctx.variant in {"dagger", "knife"}
    tip = 0.62 if short else 1.0
    fig.add(
        "blade",
        blade,
        shapes.polygon((-0.045, 0.27), (0.045, 0.27), (0.045, tip - 0.1), (0.0, tip), (-0.045, tip - 0.1)),
        roundness=0.01,
    )
    fig.add("fuller", blade.tinted(0.8), shapes.box(-0.009, 0.31, 0.009, tip - 0.16), roundness=0.0)
    fig.add(
        "guard", ctx.book.paint(("hilt",), paint("gold")), shapes.rounded_box(-0.15, 0.24, 0.15, 0.285, 0.018)
    )
    fig.add("grip", ctx.book.paint(("hilt",), paint("leather")), shapes.box(-0.026, 0.09, 0.026, 0.245))
    fig.add("pommel", ctx.book.paint(("hilt",), paint("gold")), shapes.circle(0.0, 0.07, 0.045))


def _shield(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("bands", "round", "square")
    face = ctx.book.paint(("shield",), colour("navy", "wood"))
    rim = ctx.book.paint(("bands",), paint("iron"))
    emblem = colour("golden", "gold") if face.rgb != COLOUR_RGB["golden"] else colour("red")
    if "square" in ctx.features:
        outline = _heater(1.0)
        fig.add("rim", rim, outline, roundness=0.02)
        fig.add("face", face, _heater(0.86) + np.array([0.0, 0.07]), roundness=0.015, grain_vertical=True)
        fig.add("emblem", emblem, shapes.box(-0.05, 0.28, 0.05, 0.82), shapes.box(-0.26, 0.6, 0.26, 0.7))
        return
    fig.add("rim", rim, shapes.circle(0.0, 0.5, 0.5), roundness=0.03)
    fig.add("face", face, shapes.circle(0.0, 0.5, 0.44), roundness=0.02, grain_vertical=True)
    fig.add("emblem", emblem, shapes.box(-0.05, 0.16, 0.05, 0.84), shapes.box(-0.34, 0.45, 0.34, 0.55))
    fig.add("boss", paint("steel"), shapes.circle(0.0, 0.5, 0.1), roundness=0.03)


def _heater(scale: float) -> Polygon:
    """A heater shield's outline: flat top, straight upper sides, curving to a point at the bottom."""
    t = np.linspace(0.0, 1.0, 16)
    side = np.stack([0.44 * (1 - t**2), 0.55 * (1 - t)], axis=1)  # from the shoulder down to the point
    right = np.concatenate([[(0.44, 1.0)], side])
    left = (right * (-1.0, 1.0))[::-1]
    outline: Polygon = np.concatenate([right[::-1], left[::-1]]) * scale
    return outline


def _chest(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("bands", "lid")
    wood = ctx.book.paint(("chest",), paint("wood"))
    bands = ctx.book.paint(("bands",), paint("iron"))

    def lid_top(x: float) -> float:
        return 0.72 + 0.16 * float(np.sqrt(max(0.0, 1.0 - (x / 0.5) ** 2))) - 0.006

    fig.add("body", wood, shapes.box(-0.5, 0.0, 0.5, 0.53), roundness=0.006)
    lid = ctx.book.paint(("lid",), wood.tinted(1.08))
    fig.add(
        "lid",
        lid,
        shapes.box(-0.5, 0.53, 0.5, 0.72),
        shapes.ellipse(0.0, 0.72, 0.5, 0.16, arc=(0.0, 180.0)),
        roundness=0.008,
    )
    straps = [
        shapes.polygon((x0, 0.0), (x1, 0.0), (x1, lid_top(x1)), (x0, lid_top(x0)))
        for x0, x1 in ((-0.36, -0.28), (0.28, 0.36))
    ]
    fig.add("bands", bands, *straps, shapes.box(-0.5, 0.5, 0.5, 0.56), roundness=0.004)
    fig.add("lock", paint("gold"), shapes.rounded_box(-0.075, 0.35, 0.075, 0.55, 0.02), roundness=0.006)
    fig.add(
        "keyhole",
        _BLACK,
        shapes.circle(0.0, 0.46, 0.02),
        shapes.polygon((-0.012, 0.46), (0.012, 0.46), (0.02, 0.39), (-0.02, 0.39)),
        roundness=0.0,
    )


def _barrel(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("bands")
    wood = ctx.book.paint(("barrel",), paint("wood"))
    hoops = ctx.book.paint(("bands",), paint("iron"))

    def band(y0: float, y1: float, extra: float) -> Polygon:
        ys = np.linspace(y0, y1, 12)
        half = 0.34 + 0.08 * np.sin(np.pi * ys) + extra
        return np.concatenate([np.stack([half, ys], axis=1), np.stack([-half, ys], axis=1)[::-1]])

    fig.add("staves", wood, band(0.0, 1.0, 0.0), roundness=0.05, grain_vertical=True)
    fig.add("hoops", hoops, *(band(y, y + 0.05, 0.004) for y in (0.1, 0.3, 0.65, 0.85)), roundness=0.01)


def _crate(fig: Figure, ctx: DrawContext) -> None:
    wood = ctx.book.paint(("crate",), paint("wood", (0.72, 0.53, 0.31)))
    fig.add("frame", wood, shapes.box(-0.5, 0.0, 0.5, 1.0), roundness=0.005)
    fig.add("panel", wood.tinted(0.82), shapes.box(-0.39, 0.11, 0.39, 0.89), roundness=0.004)
    brace = shapes.polygon(
        (-0.39, 0.11), (-0.26, 0.11), (0.39, 0.76), (0.39, 0.89), (0.26, 0.89), (-0.39, 0.24)
    )
    fig.add("brace", wood, brace, roundness=0.004)
    nails = [shapes.circle(x, y, 0.018) for x in (-0.445, 0.445) for y in (0.055, 0.945)]
    fig.add("nails", paint("iron"), *nails, roundness=0.0)


def _tree(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("trunk", "leaves")
    bark_rgb = COLOUR_RGB["white"] if ctx.variant == "birch" else _BARK
    trunk = ctx.book.paint(("trunk",), paint("wood", bark_rgb))
    leaves = Paint(ctx.book.colour(("leaves", "tree"), (0.3, 0.55, 0.2)), "foliage")
    rng = ctx.rng
    if ctx.variant in {"pine", "fir", "spruce"}:
        fig.add("trunk", trunk, shapes.box(-0.06, 0.0, 0.06, 0.22), roundness=0.01, grain_vertical=True)
        tiers = [
            shapes.polygon(
                (-0.42 + 0.1 * i, 0.15 + 0.24 * i), (0.42 - 0.1 * i, 0.15 + 0.24 * i), (0.0, 0.6 + 0.24 * i)
            )
            for i in range(3)
        ]
        fig.add("crown", leaves, *tiers, roundness=0.03)
        return
    if ctx.variant == "palm":
        ys = np.linspace(0.0, 0.78, 7)
        xs = 0.12 * (ys / 0.78) ** 2
        segments = [
            shapes.capsule((xs[i], ys[i]), (xs[i + 1], ys[i + 1]), 0.05 - 0.003 * i) for i in range(6)
        ]
        fig.add("trunk", trunk, *segments, roundness=0.02, grain_vertical=False)
        top = (float(xs[-1]), float(ys[-1]))
        fronds = [
            shapes.ellipse(
                top[0] + 0.2 * np.cos(np.radians(a)),
                top[1] + 0.12 * np.sin(np.radians(a)),
                0.24,
                0.05,
                a - 15 * np.sign(np.cos(np.radians(a))),
            )
            for a in (10, 50, 130, 170, 90, -20, 200)
        ]
        fig.add("crown", leaves, *fronds, roundness=0.02)
        return
    ground = ctx.variant == "bush"
    if not ground:
        trunk_shape = shapes.polygon(
            (-0.11, 0.0), (0.11, 0.0), (0.06, 0.12), (0.055, 0.5), (-0.055, 0.5), (-0.06, 0.12)
        )
        fig.add("trunk", trunk, trunk_shape, roundness=0.02, grain_vertical=True)
    centre_y = 0.3 if ground else 0.7
    blobs = [shapes.circle(0.0, centre_y, 0.26)]
    for i in range(7):
        angle = np.radians(i * 360 / 7 + rng.uniform(-15, 15))
        distance, radius = rng.uniform(0.15, 0.21), rng.uniform(0.13, 0.18)
        y = centre_y + distance * np.sin(angle)
        if ground:
            y = max(y, radius)
        blobs.append(shapes.circle(distance * np.cos(angle), y, radius))
    fig.add("crown", leaves, *blobs, roundness=0.06)


def _rock(fig: Figure, ctx: DrawContext) -> None:
    stone = ctx.book.paint(("rock",), paint("stone"))
    count = 11
    angles = np.linspace(0.0, 2 * np.pi, count, endpoint=False) + ctx.rng.uniform(-0.15, 0.15, count)
    radii = ctx.rng.uniform(0.85, 1.08, count)
    points = np.stack([0.5 * radii * np.cos(angles), 0.36 + 0.36 * radii * np.sin(angles)], axis=1)
    points[:, 1] = np.maximum(points[:, 1], 0.0)
    fig.add("rock", stone, points, roundness=0.04)


def _potion(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("liquid")
    choices = ("red", "blue", "green", "purple")
    default = COLOUR_RGB[choices[int(ctx.rng.integers(len(choices)))]]
    liquid = Paint(ctx.book.colour(("liquid", "potion"), default), "liquid")
    glass = ctx.book.paint(("potion",), paint("glass")) if ctx.book.named(("potion",)) else paint("glass")
    fig.add(
        "bottle", glass, shapes.circle(0.0, 0.33, 0.33), shapes.box(-0.09, 0.55, 0.09, 0.83), roundness=0.06
    )
    level = shapes.circle(0.0, 0.33, 0.28)
    level[:, 1] = np.minimum(level[:, 1], 0.42)
    fig.add("liquid", liquid, level, roundness=0.05)
    fig.add(
        "glint", Paint((1.0, 1.0, 1.0), "glass"), shapes.ellipse(-0.15, 0.42, 0.035, 0.08, -25), roundness=0.0
    )
    fig.add("lip", glass.tinted(0.92), shapes.rounded_box(-0.12, 0.8, 0.12, 0.86, 0.02), roundness=0.01)
    fig.add(
        "cork",
        paint("wood", (0.62, 0.45, 0.28)),
        shapes.rounded_box(-0.075, 0.85, 0.075, 0.97, 0.015),
        roundness=0.01,
    )


def _lamp(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("bands")
    metal = ctx.book.paint(("lamp", "bands"), paint("iron"))
    light = Paint(ctx.book.colour(("light",), (1.0, 0.85, 0.42)), "glow")
    if ctx.variant == "candle":
        fig.add("dish", metal, shapes.ellipse(0.0, 0.05, 0.3, 0.05), roundness=0.01)
        fig.add(
            "wax",
            paint("paint", (0.95, 0.92, 0.84)),
            shapes.rounded_box(-0.11, 0.05, 0.11, 0.62, 0.02),
            roundness=0.03,
        )
        fig.add(
            "flame",
            light,
            shapes.ellipse(0.0, 0.72, 0.05, 0.1),
            shapes.polygon((-0.045, 0.74), (0.045, 0.74), (0.0, 0.86)),
        )
        return
    fig.add("glass", light, shapes.box(-0.23, 0.1, 0.23, 0.63))
    frame = [
        shapes.rounded_box(-0.3, 0.0, 0.3, 0.1, 0.02),
        shapes.box(-0.28, 0.1, -0.21, 0.63),
        shapes.box(0.21, 0.1, 0.28, 0.63),
    ]
    frame += [
        shapes.polygon((-0.34, 0.62), (0.34, 0.62), (0.12, 0.8), (-0.12, 0.8)),
        shapes.circle(0.0, 0.86, 0.075),
    ]
    fig.add("frame", metal, *frame, roundness=0.01)


def _axe(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("hilt")
    fig.add(
        "handle",
        ctx.book.paint(("hilt",), paint("wood")),
        shapes.rounded_box(-0.03, 0.0, 0.03, 1.0, 0.02),
        roundness=0.01,
        grain_vertical=True,
    )
    head = ctx.book.paint(("axe",), paint("steel"))
    blade = shapes.polygon(
        (0.02, 0.72), (0.2, 0.67), (0.33, 0.6), (0.37, 0.8), (0.33, 0.99), (0.2, 0.93), (0.02, 0.9)
    )
    fig.add("head", head, blade, shapes.box(-0.09, 0.76, 0.03, 0.86), roundness=0.012)


def _hammer(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("hilt")
    fig.add(
        "handle",
        ctx.book.paint(("hilt",), paint("wood")),
        shapes.rounded_box(-0.03, 0.0, 0.03, 0.85, 0.02),
        roundness=0.01,
        grain_vertical=True,
    )
    fig.add(
        "head",
        ctx.book.paint(("hammer",), paint("iron")),
        shapes.rounded_box(-0.2, 0.78, 0.2, 1.0, 0.03),
        roundness=0.015,
    )


def _staff(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("hilt")
    wood = ctx.book.paint(("hilt",), paint("wood", (0.45, 0.3, 0.17)))
    fig.add(
        "pole",
        wood,
        shapes.polygon((-0.022, 0.0), (0.022, 0.0), (0.032, 0.9), (-0.032, 0.9)),
        roundness=0.01,
        grain_vertical=True,
    )
    prongs = [shapes.capsule((s * 0.02, 0.88), (s * 0.075, 0.97), 0.013, 0.008) for s in (-1.0, 1.0)]
    fig.add("prongs", wood, *prongs, roundness=0.005)
    orb = Paint(ctx.book.colour(("staff",), (0.4, 0.85, 1.0)), "glow")
    fig.add("orb", orb, shapes.circle(0.0, 0.95, 0.055))


def _spear(fig: Figure, ctx: DrawContext) -> None:
    fig.shows("hilt")
    fig.add(
        "pole",
        ctx.book.paint(("hilt",), paint("wood")),
        shapes.box(-0.02, 0.0, 0.02, 0.86),
        roundness=0.01,
        grain_vertical=True,
    )
    tip = shapes.polygon((0.0, 1.0), (0.05, 0.92), (0.03, 0.85), (-0.03, 0.85), (-0.05, 0.92))
    fig.add("tip", ctx.book.paint(("spear",), paint("steel")), tip, roundness=0.01)
    fig.add("binding", paint("leather"), shapes.box(-0.032, 0.82, 0.032, 0.87), roundness=0.005)


def _chair(fig: Figure, ctx: DrawContext) -> None:
    throne = ctx.variant == "throne"
    wood = ctx.book.paint(("chair",), paint("gold") if throne else paint("wood"))
    back_top = 1.35 if throne else 1.1
    back = [shapes.box(-0.4, 0.5, 0.4, back_top)]
    if throne:
        back.append(shapes.ellipse(0.0, back_top, 0.4, 0.15, arc=(0.0, 180.0)))
    fig.add("back", wood, *back, roundness=0.01, grain_vertical=True)
    if throne:
        fig.shows("clothes")
        fig.add(
            "cushion",
            Paint(ctx.book.colour(("clothes",), COLOUR_RGB["red"]), "cloth"),
            shapes.rounded_box(-0.3, 0.58, 0.3, back_top - 0.1, 0.05),
        )
    fig.add("seat", wood.tinted(1.08), shapes.box(-0.46, 0.44, 0.46, 0.53), roundness=0.006)
    fig.add(
        "legs",
        wood.tinted(0.9),
        shapes.box(-0.44, 0.0, -0.36, 0.44),
        shapes.box(0.36, 0.0, 0.44, 0.44),
        roundness=0.005,
    )


def _table(fig: Figure, ctx: DrawContext) -> None:
    wood = ctx.book.paint(("table",), paint("wood"))
    fig.add("top", wood, shapes.box(-0.6, 0.62, 0.6, 0.7), roundness=0.006)
    fig.add("apron", wood.tinted(0.85), shapes.box(-0.54, 0.54, 0.54, 0.62), roundness=0.004)
    fig.add(
        "legs",
        wood.tinted(0.92),
        shapes.box(-0.54, 0.0, -0.46, 0.54),
        shapes.box(0.46, 0.0, 0.54, 0.54),
        roundness=0.006,
        grain_vertical=True,
    )


def _mushroom(fig: Figure, ctx: DrawContext) -> None:
    fig.add(
        "stem",
        paint("paint", (0.93, 0.89, 0.8)),
        shapes.polygon((-0.13, 0.0), (0.13, 0.0), (0.1, 0.52), (-0.1, 0.52)),
        roundness=0.03,
    )
    fig.add(
        "cap",
        ctx.book.paint(("mushroom",), colour("red")),
        shapes.ellipse(0.0, 0.46, 0.5, 0.4, arc=(0.0, 180.0)),
        roundness=0.06,
    )
    spots = [
        shapes.circle(x, y, r)
        for x, y, r in ((-0.26, 0.58, 0.065), (0.04, 0.72, 0.08), (0.27, 0.57, 0.06), (-0.06, 0.53, 0.045))
    ]
    fig.add("spots", _WHITE, *spots, roundness=0.01)


def _bow(fig: Figure, ctx: DrawContext) -> None:
    y = np.linspace(0.0, 1.0, 25)
    outer = np.stack([0.03 + 0.2 * np.sin(np.pi * y), y], axis=1)
    inner = np.stack([0.16 * np.sin(np.pi * y), y], axis=1)[::-1]
    fig.add("limb", ctx.book.paint(("bow",), paint("wood")), np.concatenate([outer, inner]), roundness=0.008)
    fig.add("grip", paint("leather"), shapes.box(0.14, 0.43, 0.245, 0.57), roundness=0.005)


def _object(fig: Figure, ctx: DrawContext) -> None:
    body = ctx.book.paint((ctx.book.subject,), paint("paint", (0.6, 0.6, 0.66)))
    fig.add("body", body, shapes.rounded_box(-0.4, 0.0, 0.4, 0.8, 0.12), roundness=0.04)
    fig.add("band", body.tinted(0.7), shapes.box(-0.4, 0.35, 0.4, 0.45), roundness=0.01)


PROP_KINDS: dict[str, PropKind] = {
    "sword": PropKind(_sword, True, grip=(0.0, 0.17), held_length=0.55),
    "shield": PropKind(_shield, True, grip=(0.0, 0.5), held_length=0.27, hand="left"),
    "chest": PropKind(_chest, True),
    "barrel": PropKind(_barrel, True),
    "crate": PropKind(_crate, False),
    "tree": PropKind(_tree, False),
    "rock": PropKind(_rock, False),
    "potion": PropKind(_potion, False, grip=(0.0, 0.33), held_length=0.09, hand="left"),
    "lamp": PropKind(_lamp, True, grip=(0.0, 0.86), held_length=0.16, hand="left"),
    "axe": PropKind(_axe, False, grip=(0.0, 0.3), held_length=0.5),
    "hammer": PropKind(_hammer, True, grip=(0.0, 0.3), held_length=0.5),
    "staff": PropKind(_staff, True, grip=(0.0, 0.45), held_length=1.0),
    "spear": PropKind(_spear, True, grip=(0.0, 0.42), held_length=1.05),
    "chair": PropKind(_chair, True),
    "table": PropKind(_table, True),
    "mushroom": PropKind(_mushroom, False),
    "bow": PropKind(_bow, False, grip=(0.2, 0.5), held_length=0.6, hand="left"),
    "object": PropKind(_object, True),
}


def build_prop(subject: str, ctx: DrawContext) -> Figure:
    kind = PROP_KINDS.get(subject, PROP_KINDS["object"])
    figure = Figure(view="front", symmetric=kind.symmetric)
    figure.shows(subject)
    kind.draw(figure, ctx)
    return figure
