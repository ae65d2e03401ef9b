"""What the words of a prompt look like: colours, materials, render styles, and paints for parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assetcore.prompting import PromptAnalysis
from services.tti.drawing.figure import RGB, Paint

COLOUR_RGB: dict[str, RGB] = {
    "red": (0.78, 0.13, 0.12),
    "maroon": (0.45, 0.09, 0.11),
    "orange": (0.93, 0.5, 0.13),
    "yellow": (0.95, 0.83, 0.22),
    "golden": (0.86, 0.67, 0.22),
    "green": (0.22, 0.58, 0.26),
    "olive": (0.45, 0.48, 0.21),
    "lime": (0.56, 0.84, 0.26),
    "teal": (0.1, 0.6, 0.6),
    "blue": (0.17, 0.36, 0.8),
    "navy": (0.11, 0.16, 0.4),
    "purple": (0.5, 0.23, 0.65),
    "pink": (0.95, 0.56, 0.7),
    "brown": (0.5, 0.32, 0.18),
    "beige": (0.85, 0.77, 0.6),
    "black": (0.11, 0.11, 0.12),
    "white": (0.94, 0.94, 0.92),
    "grey": (0.55, 0.56, 0.58),
    "silvery": (0.76, 0.78, 0.81),
}


@dataclass(frozen=True)
class Look:
    rgb: RGB  # the material's own colour, used when the prompt names no colour for it
    specular: float  # highlight strength 0..1
    shininess: float  # highlight tightness (Blinn exponent)
    texture: str  # none | grain | speckle | brushed | fur | clumps | stripes | spots
    texture_strength: float
    emissive: bool = False  # lit from inside: no shading (glowing orbs, flames)


MATERIAL_LOOKS: dict[str, Look] = {
    # the materials a prompt can name (assetcore.prompting.MATERIALS)
    "wood": Look((0.55, 0.36, 0.2), 0.05, 8, "grain", 0.16),
    "metal": Look((0.62, 0.64, 0.67), 0.55, 30, "brushed", 0.04),
    "iron": Look((0.42, 0.43, 0.45), 0.35, 20, "speckle", 0.06),
    "steel": Look((0.7, 0.72, 0.75), 0.6, 40, "brushed", 0.04),
    "gold": Look((0.86, 0.68, 0.22), 0.6, 30, "brushed", 0.03),
    "silver": Look((0.8, 0.81, 0.84), 0.65, 40, "brushed", 0.03),
    "bronze": Look((0.72, 0.45, 0.2), 0.5, 25, "brushed", 0.04),
    "stone": Look((0.55, 0.54, 0.5), 0.03, 6, "speckle", 0.16),
    "glass": Look((0.74, 0.87, 0.91), 0.8, 60, "none", 0.0),
    "crystal": Look((0.6, 0.76, 0.95), 0.8, 60, "none", 0.0),
    "leather": Look((0.45, 0.28, 0.15), 0.12, 10, "speckle", 0.05),
    "cloth": Look((0.6, 0.6, 0.6), 0.02, 4, "speckle", 0.03),
    "fur": Look((0.5, 0.4, 0.3), 0.02, 4, "fur", 0.12),
    "bone": Look((0.9, 0.87, 0.78), 0.08, 10, "speckle", 0.05),
    "ice": Look((0.76, 0.9, 0.97), 0.7, 50, "none", 0.0),
    # looks only the renderer uses
    "skin": Look((0.93, 0.76, 0.62), 0.05, 8, "none", 0.0),
    "paint": Look((0.7, 0.7, 0.7), 0.05, 8, "none", 0.0),
    "hair": Look((0.35, 0.22, 0.12), 0.1, 12, "fur", 0.1),
    "foliage": Look((0.3, 0.55, 0.2), 0.02, 4, "clumps", 0.22),
    "liquid": Look((0.8, 0.15, 0.2), 0.5, 40, "none", 0.0),
    "glow": Look((1.0, 0.85, 0.4), 0.0, 1, "none", 0.0, emissive=True),
    "stripes": Look((0.9, 0.5, 0.15), 0.02, 4, "stripes", 0.8),
    "spots": Look((0.92, 0.9, 0.86), 0.02, 4, "spots", 0.8),
    "wool": Look((0.93, 0.91, 0.86), 0.01, 4, "clumps", 0.12),
}


@dataclass(frozen=True)
class Pbr:
    """A material in glTF's metallic-roughness model (both 0..1, linear)."""

    metallic: float
    roughness: float


_METAL, _POLISHED = Pbr(1.0, 0.45), Pbr(1.0, 0.3)
_MATTE, _ROUGH = Pbr(0.0, 0.85), Pbr(0.0, 0.95)

MATERIAL_PBR: dict[str, Pbr] = {  # one per MATERIAL_LOOKS key; the views' "materials" tiles
    "wood": Pbr(0.0, 0.8),
    "metal": _METAL,
    "iron": Pbr(1.0, 0.5),
    "steel": Pbr(1.0, 0.35),
    "gold": _POLISHED,
    "silver": _POLISHED,
    "bronze": Pbr(1.0, 0.4),
    "stone": Pbr(0.0, 0.9),
    "glass": Pbr(0.0, 0.05),
    "crystal": Pbr(0.0, 0.1),
    "leather": Pbr(0.0, 0.8),
    "cloth": _ROUGH,
    "fur": _ROUGH,
    "bone": Pbr(0.0, 0.7),
    "ice": Pbr(0.0, 0.15),
    "skin": _MATTE,
    "paint": Pbr(0.0, 0.6),
    "hair": _MATTE,
    "foliage": _MATTE,
    "liquid": Pbr(0.0, 0.1),
    "glow": Pbr(0.0, 0.5),
    "stripes": _ROUGH,
    "spots": _ROUGH,
    "wool": _ROUGH,
}


@dataclass(frozen=True)
class Style:
    name: str
    outline_px: float  # line width at 1024 px (0: none)
    outline_darkness: float  # 0..1: how much darker than the piece its outline is
    bands: int  # cel-shading bands (0: smooth)
    diffuse: float  # share of light from the key light; surfaces facing the viewer keep their colour
    specular: float  # scales the materials' highlights
    texture: float  # scales the materials' textures


STYLES: dict[str, Style] = {
    "stylized": Style("stylized", 2.5, 0.55, 0, 0.45, 1.0, 1.0),
    "toon": Style("toon", 4.0, 0.8, 3, 0.45, 0.8, 0.3),
    "realistic": Style("realistic", 0.0, 0.0, 0, 0.6, 1.0, 1.4),
    "flat": Style("flat", 2.0, 0.65, 0, 0.0, 0.0, 0.0),
}
DEFAULT_STYLE = "stylized"
_STYLE_WORDS = {
    "stylized": "stylized",
    "stylised": "stylized",
    "fantasy": "stylized",
    "hand-painted": "stylized",
    "cartoon": "toon",
    "toon": "toon",
    "cel": "toon",
    "anime": "toon",
    "comic": "toon",
    "cute": "toon",
    "realistic": "realistic",
    "photorealistic": "realistic",
    "painterly": "realistic",
    "pbr": "realistic",
    "semi-realistic": "realistic",
    "flat": "flat",
    "lowpoly": "flat",
    "low-poly": "flat",
    "minimal": "flat",
    "minimalist": "flat",
    "vector": "flat",
}


def resolve_style(text: str) -> tuple[Style, bool]:
    """The style a free-text style names, and whether it was understood (empty means the default)."""
    for word in text.lower().replace(",", " ").split():
        if word in _STYLE_WORDS:
            return STYLES[_STYLE_WORDS[word]], True
    return STYLES[DEFAULT_STYLE], not text.strip()


def paint(material: str, rgb: RGB | None = None) -> Paint:
    """A paint of `material` in its own colour, or in `rgb`."""
    return Paint(rgb or MATERIAL_LOOKS[material].rgb, material)


def colour(name: str, material: str = "paint") -> Paint:
    return Paint(COLOUR_RGB[name], material)


class PaintBook:
    """Paints for the parts of a subject: what the prompt says about them, else the builder's default."""

    def __init__(self, analysis: PromptAnalysis) -> None:
        self.subject = analysis.subject
        self._bindings = analysis.bindings

    def paint(self, nouns: Sequence[str], default: Paint, rank: int = 0) -> Paint:
        """The `rank`-th colour and the first material the prompt binds to any of `nouns`."""
        colours = self._bound(nouns, COLOUR_RGB)
        materials = [m for m in self._bound(nouns, MATERIAL_LOOKS) if m not in COLOUR_RGB]
        material = materials[0] if materials else default.material
        if len(colours) > rank:
            return Paint(COLOUR_RGB[colours[rank]], material)
        if materials:
            return paint(material)
        return default

    def colour(self, nouns: Sequence[str], default: RGB, rank: int = 0) -> RGB:
        """The `rank`-th colour the prompt gives any of `nouns` (materials ignored), else `default`."""
        colours = self._bound(nouns, COLOUR_RGB)
        return COLOUR_RGB[colours[rank]] if len(colours) > rank else default

    def named(self, nouns: Sequence[str]) -> bool:
        """Whether the prompt gives any of `nouns` a colour or material."""
        return any(noun in nouns for noun, _ in self._bindings)

    def _bound(self, nouns: Sequence[str], table: dict[str, RGB] | dict[str, Look]) -> list[str]:
        return [value for noun in nouns for n, value in self._bindings if n == noun and value in table]
