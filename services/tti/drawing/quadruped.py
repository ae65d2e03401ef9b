"""Four-legged animals in side view, head towards +x (image right), feet on y = 0.

The legs come as a front and a hind pair with a clear gap between the pairs; within a pair
the near and far leg part towards the feet (the far one darker, behind the body), so the
silhouette shows four feet that the mesh and rig steps can find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.tti.drawing import shapes
from services.tti.drawing.figure import RGB, Figure, Paint
from services.tti.drawing.palette import paint
from services.tti.drawing.props import DrawContext
from services.tti.drawing.shapes import Point

_DARK = Paint((0.07, 0.06, 0.06), "paint")
_HOOF = Paint((0.2, 0.16, 0.13), "paint")
_LEG_SPREAD = 0.1  # how far a near and a far foot part, in body units


@dataclass(frozen=True)
class Species:
    body: tuple[float, float]  # half length and half height of the barrel of the body
    legs: tuple[float, float]  # length (ground to the underside of the body) and radius
    neck: tuple[float, float, float]  # length, degrees above horizontal, radius
    head: tuple[float, float, float]  # half length, half height, muzzle length
    coat: Paint
    ears: str = "pointy"  # pointy | round | long
    tail: str = "thin"  # bushy | thin | hair | stub | tuft | curl
    horns: str = ""  # antlers | horns | curled
    mane: str = ""  # neck (horses) | ruff (lions)
    hooves: bool = False


def _coat(rgb: RGB, material: str = "fur") -> Paint:
    return Paint(rgb, material)


# fmt: off
SPECIES: dict[str, Species] = {
    #            body          legs           neck              head                 coat
    "wolf": Species((0.5, 0.19), (0.5, 0.06), (0.26, 32, 0.11), (0.16, 0.12, 0.17), _coat((0.55, 0.55, 0.56)),
                    tail="bushy"),
    "dog": Species((0.45, 0.18), (0.45, 0.06), (0.24, 40, 0.1), (0.15, 0.12, 0.13), _coat((0.6, 0.42, 0.24)),
                   ears="round"),
    "fox": Species((0.42, 0.15), (0.36, 0.045), (0.2, 32, 0.09), (0.14, 0.1, 0.15), _coat((0.9, 0.47, 0.15)),
                   tail="bushy"),
    "horse": Species((0.55, 0.23), (0.78, 0.06), (0.42, 56, 0.12), (0.24, 0.1, 0.1), _coat((0.45, 0.3, 0.18)),
                     tail="hair", mane="neck", hooves=True),
    "cat": Species((0.38, 0.14), (0.34, 0.04), (0.16, 40, 0.08), (0.13, 0.11, 0.05),
                   _coat((0.85, 0.55, 0.3))),
    "lion": Species((0.55, 0.22), (0.52, 0.075), (0.22, 30, 0.13), (0.18, 0.14, 0.1),
                    _coat((0.82, 0.64, 0.38)), tail="tuft", ears="round", mane="ruff"),
    "tiger": Species((0.58, 0.2), (0.48, 0.075), (0.2, 28, 0.12), (0.17, 0.13, 0.09),
                     _coat((0.92, 0.52, 0.16), "stripes"), ears="round"),
    "panther": Species((0.5, 0.17), (0.46, 0.06), (0.2, 30, 0.1), (0.15, 0.11, 0.08),
                       _coat((0.12, 0.12, 0.13)), ears="round"),
    "bear": Species((0.55, 0.28), (0.4, 0.1), (0.16, 20, 0.16), (0.19, 0.16, 0.11), _coat((0.4, 0.26, 0.15)),
                    ears="round", tail="stub"),
    "deer": Species((0.45, 0.18), (0.68, 0.04), (0.36, 56, 0.08), (0.15, 0.09, 0.1),
                    _coat((0.66, 0.45, 0.27)), ears="long", tail="stub", horns="antlers", hooves=True),
    "cow": Species((0.6, 0.27), (0.46, 0.075), (0.14, 18, 0.15), (0.18, 0.14, 0.1),
                   _coat((0.94, 0.93, 0.9), "spots"), ears="long", tail="tuft", horns="horns", hooves=True),
    "pig": Species((0.5, 0.26), (0.26, 0.065), (0.08, 10, 0.17), (0.17, 0.15, 0.08),
                   _coat((0.95, 0.7, 0.68), "skin"), ears="long", tail="curl", hooves=True),
    "goat": Species((0.42, 0.18), (0.5, 0.045), (0.24, 50, 0.08), (0.15, 0.1, 0.08), _coat((0.9, 0.88, 0.84)),
                    ears="long", tail="stub", horns="curled", hooves=True),
    "sheep": Species((0.48, 0.26), (0.4, 0.045), (0.12, 30, 0.1), (0.14, 0.11, 0.06),
                     _coat((0.94, 0.92, 0.87), "wool"), ears="long", tail="stub", hooves=True),
    "animal": Species((0.48, 0.19), (0.46, 0.06), (0.24, 36, 0.1), (0.15, 0.12, 0.12),
                      _coat((0.55, 0.4, 0.26))),
}
# fmt: on


def build_quadruped(ctx: DrawContext) -> Figure:
    species = SPECIES.get(ctx.book.subject, SPECIES["animal"])
    default_coat = _coat((0.96, 0.96, 0.97)) if ctx.variant == "unicorn" else species.coat
    coat = ctx.book.paint((ctx.book.subject, "fur", "clothes", "skin"), default_coat)
    build = 1.2 if "bulky" in ctx.features else 0.85 if "slender" in ctx.features else 1.0
    length = species.body[0] * ctx.rng.uniform(0.95, 1.05)
    animal = _Animal(ctx, species, coat, length, species.body[1] * build)
    fig = Figure(view="side")
    fig.shows(ctx.book.subject, "fur", "clothes", "skin", "bulky", "slender", "eyes")
    animal.draw(fig)
    return fig


@dataclass(frozen=True)
class _Animal:
    ctx: DrawContext
    species: Species
    coat: Paint
    rx: float  # half length of the body
    ry: float  # half height of the body

    @property
    def body_y(self) -> float:
        return self.species.legs[0] + self.ry * 0.55

    def draw(self, fig: Figure) -> None:
        self._legs(fig, "far", self.coat.tinted(0.72), -_LEG_SPREAD)
        self._tail(fig)
        body = [shapes.ellipse(0.0, self.body_y, self.rx, self.ry)]
        body.append(shapes.circle(self.rx * 0.55, self.body_y + self.ry * 0.1, self.ry * 1.05))
        fig.add("body", self.coat, *body, roundness=0.06)
        self._legs(fig, "near", self.coat, _LEG_SPREAD)
        self._head(fig)

    def _legs(self, fig: Figure, layer: str, coat: Paint, spread: float) -> None:
        s, rng = self.species, self.ctx.rng
        length, radius = s.legs
        for pair, x, sign in (("front", self.rx * 0.6, 1.0), ("hind", -self.rx * 0.6, -1.0)):
            lean = spread * sign * rng.uniform(0.9, 1.1)
            top: Point = (x, self.body_y - 0.02)
            knee: Point = (x + lean * 0.45 + (0.02 if pair == "hind" else 0.0), length * 0.5)
            foot: Point = (x + lean, radius * 0.9)
            thigh = radius * (2.1 if pair == "hind" else 1.6)
            leg = [
                shapes.capsule(top, knee, thigh, radius),
                shapes.capsule(knee, foot, radius, radius * 0.85),
            ]
            fig.add(f"leg_{pair}_{layer}", coat, *leg, roundness=0.02)
            paw = shapes.ellipse(foot[0] + radius * 0.35, radius * 0.6, radius * 1.3, radius * 0.6)
            fig.add(f"foot_{pair}_{layer}", _HOOF if s.hooves else coat.tinted(0.9), paw, roundness=0.01)

    def _tail(self, fig: Figure) -> None:
        kind, coat = self.species.tail, self.coat
        x, y = -self.rx * 0.92, self.body_y + self.ry * 0.45  # the tail's root
        if kind == "bushy":
            fig.add("tail", coat, shapes.ellipse(x - 0.2, y - 0.1, 0.26, 0.075, 30.0), roundness=0.03)
            fig.add(
                "tail_tip",
                coat.tinted(1.3),
                shapes.ellipse(x - 0.4, y - 0.22, 0.08, 0.05, 30.0),
                roundness=0.02,
            )
        elif kind == "thin":
            bend = (x - 0.16, y + 0.1)
            tail = [shapes.capsule((x, y), bend, 0.03, 0.025)]
            tail.append(shapes.capsule(bend, (bend[0] - 0.06, bend[1] + 0.18), 0.025, 0.018))
            fig.add("tail", coat, *tail, roundness=0.01)
        elif kind == "hair":
            fig.shows("hair")
            flow = [(0.03, 0.03), (-0.06, 0.05), (-0.2, -0.2), (-0.26, -0.55), (-0.12, -0.52), (-0.04, -0.2)]
            fig.add("tail", self._hair(), np.array([(x + dx, y + dy) for dx, dy in flow]), roundness=0.02)
        elif kind == "tuft":
            end = (x - 0.3, y - 0.22)
            fig.add("tail", coat, shapes.capsule((x, y), end, 0.025, 0.018), roundness=0.01)
            tuft = shapes.ellipse(end[0] - 0.03, end[1] - 0.02, 0.06, 0.04, 35.0)
            fig.add("tail_tuft", coat.tinted(0.5), tuft, roundness=0.01)
        elif kind == "curl":
            bend = (x - 0.08, y + 0.06)
            curl = [shapes.capsule((x, y), bend, 0.025), shapes.capsule(bend, (x - 0.12, y - 0.01), 0.022)]
            fig.add("tail", coat, *curl, roundness=0.01)
        else:
            fig.add("tail", coat, shapes.ellipse(x - 0.03, y + 0.02, 0.07, 0.04, 35.0), roundness=0.01)

    def _hair(self) -> Paint:
        return Paint(self.ctx.book.colour(("mane", "hair"), self.coat.tinted(0.45).rgb), "hair")

    @property
    def mane(self) -> str:
        """The species' mane; a named mane on a species without one runs along the neck."""
        return self.species.mane or ("neck" if "mane" in self.ctx.features else "")

    def _head(self, fig: Figure) -> None:
        s, coat = self.species, self.coat
        length, degrees, neck_r = s.neck
        head_rx, head_ry, muzzle = s.head
        angle = np.radians(degrees)
        base = (self.rx * 0.78, self.body_y + self.ry * 0.35)
        tip = (base[0] + length * float(np.cos(angle)), base[1] + length * float(np.sin(angle)))
        hx, hy = tip[0] + head_rx * 0.35, tip[1] + head_ry * 0.2
        if self.mane:
            fig.shows("mane", "hair")
        if self.mane == "ruff":
            ruff = shapes.circle(hx - head_rx * 0.45, hy - 0.02, head_ry * 2.1)
            mane_paint = Paint(self.ctx.book.colour(("mane", "hair"), (0.5, 0.3, 0.15)), "hair")
            fig.add("mane", mane_paint, ruff, roundness=0.05)
        if self.mane == "neck":  # a ridge along the top edge, behind the neck
            up = np.array([-np.sin(angle), np.cos(angle)]) * neck_r
            start, end = np.array(base) + up * 1.1, np.array(tip) + up * 0.9
            mane = shapes.capsule(
                (float(start[0]), float(start[1])), (float(end[0]), float(end[1])), 0.055, 0.035
            )
            fig.add("mane", self._hair(), mane, roundness=0.01)
        fig.add("neck", coat, shapes.capsule(base, tip, neck_r * 1.25, neck_r * 0.75), roundness=0.04)
        tilt = -25.0 if degrees > 45 else -8.0
        self._ears(fig, hx, hy)
        fig.add("head", coat, shapes.ellipse(hx, hy, head_rx, head_ry, tilt), roundness=0.04)
        down = float(np.tan(np.radians(tilt)))
        start = (hx + head_rx * 0.4, hy - head_ry * 0.25 + down * head_rx * 0.4)
        end = (start[0] + muzzle, start[1] + down * muzzle - head_ry * 0.1)
        radius = head_ry * 0.55
        fig.add("muzzle", coat, shapes.capsule(start, end, radius, radius * 0.75), roundness=0.03)
        nose = shapes.circle(end[0] + radius * 0.45, end[1] + radius * 0.25, radius * 0.35)
        fig.add("nose", _DARK, nose, roundness=0.0)
        eye = shapes.ellipse(hx + head_rx * 0.2, hy + head_ry * 0.25, head_ry * 0.14, head_ry * 0.18)
        fig.add("eye", Paint(self.ctx.book.colour(("eyes",), _DARK.rgb), "paint"), eye, roundness=0.0)
        self._horns(fig, hx, hy)

    def _ears(self, fig: Figure, hx: float, hy: float) -> None:
        head_rx, head_ry, _ = self.species.head
        top, ear_paint = hy + head_ry * 0.7, self.coat.tinted(0.9)
        if self.species.ears == "round":
            fig.add("ear", ear_paint, shapes.circle(hx - head_rx * 0.4, top, head_ry * 0.35), roundness=0.01)
        elif self.species.ears == "long":
            ear = shapes.ellipse(
                hx - head_rx * 0.45, top + head_ry * 0.25, head_ry * 0.2, head_ry * 0.6, 35.0
            )
            fig.add("ear", ear_paint, ear, roundness=0.01)
        else:
            ear = shapes.polygon(
                (hx - head_rx * 0.7, top - 0.02),
                (hx - head_rx * 0.1, top - 0.01),
                (hx - head_rx * 0.5, top + head_ry),
            )
            fig.add("ear", ear_paint, ear, roundness=0.01)

    def _horns(self, fig: Figure, hx: float, hy: float) -> None:
        head_rx, head_ry, _ = self.species.head
        horn_paint = self.ctx.book.paint(("horns",), paint("bone"))
        base = (hx - head_rx * 0.2, hy + head_ry * 0.8)
        horns, variant = self.species.horns, self.ctx.variant
        horns = horns or ("horns" if "horns" in self.ctx.features else "")  # "a horned wolf"
        if variant == "unicorn" or (horns and not (horns == "antlers" and variant in {"doe", "fawn"})):
            fig.shows("horns")
        if variant == "unicorn":
            horn = shapes.polygon(
                (hx + head_rx * 0.1, hy + head_ry * 0.6), (hx + head_rx * 0.45, hy + head_ry * 0.75),
                (hx + head_rx * 1.2, hy + head_ry * 3.6),
            )  # fmt: skip
            fig.add("horn", paint("gold"), horn, roundness=0.01)
        elif horns == "antlers" and variant not in {"doe", "fawn"}:
            beam_top = (base[0] - 0.1, base[1] + 0.34)
            tines = [shapes.capsule(base, beam_top, 0.018, 0.012)]
            for t, length in ((0.35, 0.12), (0.65, 0.1), (0.9, 0.08)):
                start = (base[0] + (beam_top[0] - base[0]) * t, base[1] + (beam_top[1] - base[1]) * t)
                tines.append(
                    shapes.capsule(start, (start[0] + length * 0.8, start[1] + length * 0.6), 0.012, 0.008)
                )
            fig.add("antlers", Paint((0.55, 0.42, 0.3), "bone"), *tines, roundness=0.005)
        elif horns == "horns":
            horn = shapes.polygon((base[0] - 0.03, base[1] - 0.02), (base[0] + 0.03, base[1] - 0.02))
            fig.add("horn", horn_paint, np.vstack([horn, [(base[0] + 0.08, base[1] + 0.1)]]), roundness=0.005)
        elif horns == "curled":
            outer = shapes.ellipse(base[0] - 0.06, base[1] + 0.02, 0.08, 0.1, -20.0, arc=(-60.0, 180.0))
            inner = shapes.ellipse(base[0] - 0.06, base[1] + 0.02, 0.05, 0.065, -20.0, arc=(-60.0, 180.0))
            fig.add("horn", horn_paint, np.concatenate([outer, inner[::-1]]), roundness=0.005)
