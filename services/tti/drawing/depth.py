"""How deep each piece of a 2D figure is, so the builders stay 2D and volume.py can make it 3D.

A rule is looked up by the piece's name: first as "prop.piece" (a held prop's pieces carry its
prefix, a standalone prop's pieces are qualified with the subject), then by the bare piece name,
else the defaults: a piece drawn almost entirely over earlier ones is a decal on their front,
anything else a rounded volume. Depth is along the drawing's view axis: towards the viewer of a
front view (+Z), towards the near side of a side view.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DepthRule:
    """shape: "round" (a rounded cross-section from the piece's own 2D distance transform: a capsule
    limb becomes a round limb), "lathe" (each row revolved about its own centre: hats, barrels,
    bottles), "slab" (constant half-thickness `scale` x the piece's larger side: shields, blades,
    ears), "block" (constant half-depth `scale` x the piece's width: chests, crates) or "decal"
    (paint on the front surface of what is under it, `lift` voxels proud of it)."""

    shape: str = "round"
    scale: float = 1.0  # round/lathe: half-depth multiplier; slab/block: see above
    offset: float = 0.0  # centre along depth, as a share of the figure's largest half-depth (legs)
    in_front: bool = False  # centred just in front of what is under it (a shield on a forearm)
    cover: bool = False  # at least as deep as what is under it, plus `lift` (helmets, belts, hair)
    lift: int = 1  # voxels above the surface under it (decal, cover)
    front_limit: float | None = None  # its front clipped at this share of its own half-depth (hoods)
    wrap_back: bool = False  # the back half of what it sits on takes its paint (hair)
    forward: float = 0.0  # feet: the lowest rows reach this share of the piece's height forward


ROUND = DepthRule()
DECAL = DepthRule("decal", lift=0)
_RAISED = DepthRule("decal", lift=1)
_STUD = DepthRule("decal", lift=2)
_LATHE = DepthRule("lathe")
_COVERING_LATHE = DepthRule("lathe", cover=True)
_SHELL = DepthRule(cover=True)
_HELD_BLADE = DepthRule("slab", 0.025)
_BOX = DepthRule("block", 0.3)
_NEAR = 0.55  # a quadruped's legs sit this share of its body's half-width off its centre plane


RULES: dict[str, DepthRule] = {
    # characters (humanoid.py)
    "hair_back": DepthRule(front_limit=0.0),
    "boot_l": DepthRule(forward=0.75),
    "boot_r": DepthRule(forward=0.75),
    "knee_l": _RAISED,
    "knee_r": _RAISED,
    "robe_l": _SHELL,
    "robe_r": _SHELL,
    "tunic_l": _SHELL,
    "tunic_r": _SHELL,
    "torso": DepthRule(scale=0.62),
    "belt": _SHELL,
    "buckle": _RAISED,
    "cape": DepthRule(cover=True, lift=2),
    "clasp": _RAISED,
    "hand_l": DepthRule(scale=0.7),
    "hand_r": DepthRule(scale=0.7),
    "pauldron_l": DepthRule(cover=True, lift=2),
    "pauldron_r": DepthRule(cover=True, lift=2),
    "hood": DepthRule(scale=1.1, front_limit=0.25),
    "ear_l": DepthRule("slab", 0.08),
    "ear_r": DepthRule("slab", 0.08),
    "head": DepthRule(scale=1.1),
    "eyes": DECAL,
    "hair": DepthRule(cover=True, wrap_back=True),
    "hair_front": DepthRule("decal", lift=2),  # locks over the chest
    "beard": DepthRule("decal", lift=3),
    "tusks": _RAISED,
    "mask": _RAISED,
    "visor": DepthRule("decal", lift=0),
    "helmet": _COVERING_LATHE,
    "brim": _LATHE,
    "hat": _LATHE,
    "crown": _COVERING_LATHE,
    # quadrupeds (quadruped.py): near legs towards the side camera, far ones mirrored away
    **{
        f"{part}_{pair}_{layer}": DepthRule(offset=_NEAR if layer == "near" else -_NEAR)
        for part in ("leg", "foot")
        for pair in ("front", "hind")
        for layer in ("near", "far")
    },
    "body": DepthRule(scale=0.85),
    "ear": DepthRule("slab", 0.1, offset=0.3),
    "horn": DepthRule(offset=0.25),
    "antlers": DepthRule("slab", 0.02, offset=0.3),
    "eye": DECAL,
    "mane": DepthRule(scale=1.2),
    # props (props.py), qualified by the prop's name
    "sword.blade": _HELD_BLADE,
    "sword.fuller": DECAL,
    "shield.rim": DepthRule("slab", 0.035, in_front=True),
    "shield.face": _RAISED,
    "shield.emblem": DECAL,
    "shield.boss": _STUD,
    "axe.head": _HELD_BLADE,
    "spear.tip": _HELD_BLADE,
    "bow.limb": DepthRule("slab", 0.03),
    "chest.body": _BOX,
    "chest.lid": _BOX,
    "chest.bands": DepthRule("block", 0.3, cover=True),
    "chest.lock": _RAISED,
    "chest.keyhole": DECAL,
    "crate.frame": DepthRule("block", 0.5),
    "crate.panel": DECAL,
    "crate.brace": _RAISED,
    "crate.nails": _RAISED,
    "barrel.staves": _LATHE,
    "barrel.hoops": _COVERING_LATHE,
    "tree.trunk": _LATHE,
    "tree.crown": _LATHE,
    "potion.bottle": _LATHE,
    "potion.liquid": _COVERING_LATHE,
    "potion.glint": DECAL,
    "potion.lip": _LATHE,
    "potion.cork": _LATHE,
    "lamp.dish": _LATHE,
    "lamp.wax": _LATHE,
    "lamp.flame": _LATHE,
    "lamp.glass": _LATHE,
    "lamp.frame": _COVERING_LATHE,
    "chair.back": DepthRule("slab", 0.04),
    "chair.cushion": _RAISED,
    "chair.seat": DepthRule("block", 0.45),
    "chair.legs": DepthRule("block", 0.45),
    "table.top": DepthRule("block", 0.3),
    "table.apron": DepthRule("block", 0.27),
    "table.legs": DepthRule("block", 0.27),
    "mushroom.stem": _LATHE,
    "mushroom.cap": _LATHE,
    "mushroom.spots": _RAISED,
}

CONTAINED = 0.9  # a piece with this share of its area over earlier pieces ...
SMALL = 0.3  # ... and smaller than this share of them is a decal by default


def rule_for(name: str, subject: str, category: str) -> DepthRule | None:
    """The table's rule for a piece, or None when the defaults decide (see `default_rule`)."""
    if "." not in name and category == "prop":
        name = f"{subject}.{name}"
    return RULES.get(name) or RULES.get(name.rsplit(".", 1)[-1])


def default_rule(covered_share: float, relative_area: float) -> DepthRule:
    """A piece without a rule: a decal when drawn over earlier pieces and much smaller than them."""
    return DECAL if covered_share >= CONTAINED and relative_area <= SMALL else ROUND
