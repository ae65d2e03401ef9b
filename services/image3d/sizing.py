"""How a reconstructed subject is shaped: its real size in metres, and how deep it inflates.

Depth: the balloon profile's half-depth is scaled by `depth_scale` (1 = round cross-sections);
box-like props (a chest, a crate) inflate steeply and are then cut flat front and back at
`flat_depth` x their silhouette's width, which gives a box with rounded edges, not a pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assetcore.prompting import Category

Extent = Literal["height", "longest"]

HUMANOID_HEIGHT_M = 1.8
HUMANOID_HEIGHTS_M = {"dwarf": 1.35, "goblin": 1.1, "troll": 2.6, "orc": 2.0}

# Standing height of the side silhouette (ground to the top of the head or ears): the
# shoulder sits at roughly 0.8 of it, so a wolf comes out about 0.85 m at the shoulder.
QUADRUPED_HEIGHT_M = 1.1
QUADRUPED_HEIGHTS_M = {
    "wolf": 1.05,
    "dog": 0.85,
    "fox": 0.55,
    "cat": 0.4,
    "horse": 2.0,
    "lion": 1.4,
    "tiger": 1.35,
    "panther": 1.0,
    "bear": 1.5,
    "deer": 1.7,
    "cow": 1.75,
    "pig": 1.0,
    "goat": 1.05,
    "sheep": 1.05,
}

# The longest side of the prop's silhouette.
PROP_SIZE_M = 1.0
PROP_SIZES_M = {
    "chest": 0.8,
    "sword": 1.0,
    "shield": 0.7,
    "barrel": 0.9,
    "crate": 0.7,
    "tree": 4.0,
    "rock": 1.0,
    "potion": 0.25,
    "lamp": 0.5,
    "axe": 0.8,
    "table": 1.4,
    "mushroom": 0.4,
    "hammer": 0.7,
    "staff": 1.7,
    "spear": 2.2,
    "chair": 1.0,
}


# Characters are flatter front to back than wide; props are mostly round.
DEPTH_SCALES: dict[Category, float] = {"humanoid": 0.75, "quadruped": 0.8, "prop": 0.9}
BOX_DEPTH_SCALE = 3.0
BOX_LIKE_PROPS = {"chest": 0.32, "crate": 0.5}  # flat half-depth as a share of the width


@dataclass(frozen=True)
class SubjectShape:
    metres: float
    extent: Extent  # which extent of the silhouette `metres` measures
    depth_scale: float
    flat_depth: float | None = None  # half-depth cap as a share of the silhouette's width


def subject_shape(category: Category, subject: str) -> SubjectShape:
    if category == "humanoid":
        height = HUMANOID_HEIGHTS_M.get(subject, HUMANOID_HEIGHT_M)
        return SubjectShape(height, "height", DEPTH_SCALES[category])
    if category == "quadruped":
        height = QUADRUPED_HEIGHTS_M.get(subject, QUADRUPED_HEIGHT_M)
        return SubjectShape(height, "height", DEPTH_SCALES[category])
    size = PROP_SIZES_M.get(subject, PROP_SIZE_M)
    if subject in BOX_LIKE_PROPS:
        return SubjectShape(size, "longest", BOX_DEPTH_SCALE, BOX_LIKE_PROPS[subject])
    return SubjectShape(size, "longest", DEPTH_SCALES[category])
