"""A figure: named pieces, each one paint and polygons, drawn in order.

Pieces are the units of shading and outlining: a limb drawn as two capsules is one piece, so
no line appears at its elbow. `shown` collects the prompt's words the builder drew (services.tti.
drawing.details lists the rest). Builders work in their own units (metres for characters, the
unit box for props) and `placed` composes a transform so a prop can be drawn into a hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from services.tti.drawing.shapes import Polygon

RGB = tuple[float, float, float]  # sRGB, 0..1


@dataclass(frozen=True)
class Paint:
    rgb: RGB
    material: str  # a key of palette.MATERIAL_LOOKS

    def tinted(self, factor: float) -> Paint:
        """The same material, lighter (> 1) or darker (< 1)."""
        rgb = tuple(float(min(1.0, c * factor)) for c in self.rgb)
        return Paint((rgb[0], rgb[1], rgb[2]), self.material)


@dataclass
class Piece:
    name: str
    paint: Paint
    roundness: float  # bevel radius as a fraction of the canvas side (0: flat, large: a full dome)
    grain_vertical: bool  # direction of wood grain and similar textures


@dataclass
class Figure:
    view: str  # "front" or "side"
    symmetric: bool = False  # mirror-symmetric about x = 0: the renderer makes the matte exact
    pieces: list[Piece] = field(default_factory=list)
    strokes: list[tuple[int, Polygon]] = field(default_factory=list)  # (piece index, polygon) in draw order
    shown: set[str] = field(default_factory=set)  # prompt words (canonical) the drawing shows
    _scale: tuple[float, float] = field(default=(1.0, 1.0), init=False, repr=False)
    _offset: tuple[float, float] = field(default=(0.0, 0.0), init=False, repr=False)
    _prefix: str = field(default="", init=False, repr=False)

    def add(
        self,
        name: str,
        paint: Paint,
        *polygons: Polygon,
        roundness: float = 0.03,
        grain_vertical: bool = False,
    ) -> None:
        """Draw polygons as piece `name` (created on first use; later uses keep its paint)."""
        name = self._prefix + name
        index = next((i for i, piece in enumerate(self.pieces) if piece.name == name), None)
        if index is None:
            self.pieces.append(Piece(name, paint, roundness, grain_vertical))
            index = len(self.pieces) - 1
        for points in polygons:
            self.strokes.append((index, points * np.array(self._scale) + np.array(self._offset)))

    def shows(self, *words: str) -> None:
        """Record prompt words the builder drew, so what it could not draw can be listed."""
        self.shown.update(words)

    @contextmanager
    def placed(
        self, scale: float, offset: tuple[float, float], *, mirror: bool = False, prefix: str = ""
    ) -> Iterator[None]:
        """Within the block, shapes are scaled (and mirrored in x), moved by `offset`, and their
        pieces named with `prefix` so a held sword's "head" is not the character's."""
        saved = self._scale, self._offset, self._prefix
        (sx, sy), (ox, oy) = saved[0], saved[1]
        self._offset = (ox + offset[0] * sx, oy + offset[1] * sy)
        self._scale = (sx * scale * (-1.0 if mirror else 1.0), sy * scale)
        self._prefix = saved[2] + prefix
        try:
            yield
        finally:
            self._scale, self._offset, self._prefix = saved

    def bounds(self) -> tuple[float, float, float, float]:
        points = np.concatenate([points for _, points in self.strokes])
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)
