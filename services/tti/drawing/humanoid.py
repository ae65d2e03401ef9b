"""Characters in front view, A-pose: arms out and down, legs apart, feet on y = 0.

The later steps inflate this silhouette and fit a skeleton to it, so the pose keeps clear
gaps: arms leave the torso below the armpit, the legs part from the crotch down, and nothing
worn or held bridges them (robes split over the legs, capes are shoulder mantles, a shield
hangs outside the forearm). A female build narrows the shoulders and waist and widens the
hips; her long hair falls in front of the shoulders, inside the torso's outline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from services.tti.drawing import shapes
from services.tti.drawing.figure import RGB, Figure, Paint
from services.tti.drawing.palette import colour, paint
from services.tti.drawing.props import PROP_KINDS, DrawContext
from services.tti.drawing.shapes import Point, Polygon

HEIGHT = 1.8
_DARK = Paint((0.07, 0.06, 0.06), "paint")
_HAIR_CHOICES: tuple[RGB, ...] = (
    (0.12, 0.09, 0.07),
    (0.35, 0.22, 0.12),
    (0.85, 0.72, 0.42),
    (0.55, 0.25, 0.12),
)
_TOP_CHOICES = ("blue", "red", "green", "white", "brown", "teal")
_BOTTOM_CHOICES = ("navy", "brown", "black", "grey")
_HELMETS = frozenset({"full_helmet", "open_helmet", "horned_helmet"})
_HELD_REACH = 0.96  # the highest a held item reaches, in heights: below the top of the head
_HEADGEAR_WORDS = {  # the prompt words each headgear shows
    "full_helmet": ("helmet",),
    "open_helmet": ("helmet",),
    "horned_helmet": ("helmet", "horns"),
    "dome": ("helmet",),
    "pointed_hat": ("hat", "pointed"),
    "brim_hat": ("hat",),
    "hood": ("hood",),
    "crown": ("crown",),
}


@dataclass(frozen=True)
class Archetype:
    heads: float  # height in head heights: fewer is chunkier
    bulk: float  # width relative to an average build
    skin: Paint
    top: Paint  # torso and sleeves
    bottom: Paint  # legs
    boots: Paint
    hair: RGB | None  # None: bald or always covered
    headgear: str = (
        ""  # full_helmet | open_helmet | horned_helmet | pointed_hat | brim_hat | hood | crown | dome
    )
    gear: Paint | None = None  # the headgear's paint; default steel for helmets, the top's for hats
    ears: str = ""  # pointed | long
    beard: bool = False
    long_hair: bool = False
    tusks: bool = False
    robe: bool = False  # split skirt flaps over the legs
    tunic: bool = False  # short skirt flaps (a robe's reach to the knee, a tunic's to mid-thigh)
    armor: bool = False  # pauldrons and knee guards; the armour's paint on the legs and helmet
    cape: bool = False  # a shoulder mantle
    boxy: bool = False  # robots: box head and torso
    bony: bool = False  # skeletons: thin limbs, a ribcage
    kit: tuple[str, ...] = ()  # what it holds when the prompt names nothing
    female: bool = False  # narrower shoulders and waist, wider hips, long hair


_SKIN = Paint((0.93, 0.76, 0.62), "skin")
_LEATHER = paint("leather")
_DARK_LEATHER = paint("leather", (0.22, 0.15, 0.1))
_STEEL = paint("steel")
_BONE = paint("bone")


def _cloth(name: str) -> Paint:
    return colour(name, "cloth")


def _tone(rgb: RGB, material: str = "skin") -> Paint:
    return Paint(rgb, material)


# fmt: off
ARCHETYPES: dict[str, Archetype] = {
    "knight": Archetype(6.6, 1.12, _SKIN, _STEEL, _STEEL, paint("iron"), None, "full_helmet", armor=True),
    "warrior": Archetype(6.4, 1.2, _SKIN, _LEATHER, _cloth("brown"), _DARK_LEATHER, _HAIR_CHOICES[1]),
    "wizard": Archetype(6.6, 0.95, _SKIN, _cloth("purple"), _cloth("navy"), _LEATHER, (0.78, 0.78, 0.8),
                        "pointed_hat", beard=True, long_hair=True, robe=True, kit=("staff",)),
    "orc": Archetype(6.0, 1.4, _tone((0.42, 0.6, 0.3)), _LEATHER, _cloth("brown"), _DARK_LEATHER,
                     _HAIR_CHOICES[0], ears="pointed", tusks=True),
    "elf": Archetype(7.0, 0.85, _tone((0.96, 0.84, 0.72)), _cloth("green"), _cloth("brown"), _LEATHER,
                     (0.9, 0.8, 0.5), ears="long", long_hair=True),
    "robot": Archetype(6.0, 1.1, _tone((0.7, 0.72, 0.75), "metal"), _STEEL, _STEEL, paint("iron"), None,
                       boxy=True),
    "soldier": Archetype(6.6, 1.05, _SKIN, _cloth("olive"), _cloth("olive"), colour("black", "leather"),
                         _HAIR_CHOICES[0], "open_helmet", gear=colour("olive", "metal")),
    "person": Archetype(6.5, 1.0, _SKIN, _cloth("blue"), _cloth("navy"), _DARK_LEATHER, _HAIR_CHOICES[1]),
    "zombie": Archetype(6.5, 0.92, _tone((0.56, 0.66, 0.5)), _cloth("grey"), _cloth("brown"),
                        _DARK_LEATHER, _HAIR_CHOICES[0]),
    "skeleton": Archetype(6.6, 0.9, _BONE, _BONE, _BONE, _BONE, None, bony=True),
    "dwarf": Archetype(4.8, 1.35, _SKIN, _cloth("red"), _cloth("brown"), _DARK_LEATHER, (0.55, 0.25, 0.12),
                       "open_helmet", beard=True, armor=True),
    "goblin": Archetype(4.5, 0.85, _tone((0.55, 0.68, 0.3)), _LEATHER, _cloth("brown"), _DARK_LEATHER,
                        None, ears="long"),
    "troll": Archetype(5.5, 1.5, _tone((0.5, 0.58, 0.5)), _LEATHER, _cloth("brown"),
                       _tone((0.45, 0.52, 0.45)), None, tusks=True),
    "king": Archetype(6.6, 1.05, _SKIN, _cloth("red"), _cloth("white"), _DARK_LEATHER, (0.55, 0.4, 0.25),
                      "crown", gear=paint("gold"), beard=True, robe=True, cape=True),
    "pirate": Archetype(6.4, 1.05, _SKIN, _cloth("white"), _cloth("black"), colour("black", "leather"),
                        _HAIR_CHOICES[0], "brim_hat", gear=_cloth("black"), beard=True),
    "ninja": Archetype(6.6, 0.95, _SKIN, _cloth("black"), _cloth("black"), _cloth("black"), None, "hood"),
    "archer": Archetype(6.8, 0.95, _SKIN, _cloth("green"), _cloth("brown"), _LEATHER, _HAIR_CHOICES[2],
                        "hood", kit=("bow",)),
    "viking": Archetype(6.3, 1.25, _SKIN, paint("fur"), _cloth("brown"), _DARK_LEATHER, (0.85, 0.6, 0.3),
                        "horned_helmet", beard=True, long_hair=True),
    "astronaut": Archetype(6.0, 1.2, _SKIN, _cloth("white"), _cloth("white"), _cloth("grey"), None, "dome"),
}
# fmt: on


@dataclass(frozen=True)
class Body:
    """Key measures, derived from the archetype, the prompt's build words and the seed."""

    head: float  # head height
    head_rx: float
    shoulder_y: float
    shoulder_half: float
    waist_half: float
    hip_half: float
    crotch_y: float
    leg_x: float  # leg axis at the hip
    foot_x: float  # leg axis at the ankle
    thigh_r: float
    calf_r: float
    ankle_r: float
    upper_arm_r: float
    forearm_r: float
    arm_length: float  # shoulder joint to wrist
    arm_angle: float  # degrees below horizontal

    @property
    def head_y(self) -> float:
        return HEIGHT - 0.5 * self.head

    @property
    def hip_y(self) -> float:
        return self.crotch_y + 0.1 * self.head

    @property
    def ankle_y(self) -> float:
        return 0.2 * self.head

    def leg_axis(self, y: float) -> tuple[float, float]:
        """(x, radius) of the left leg's axis at height y, from the hip (thigh) to the ankle."""
        t = (self.hip_y - y) / (self.hip_y - self.ankle_y)
        return self.leg_x + (self.foot_x - self.leg_x) * t, self.thigh_r + (self.ankle_r - self.thigh_r) * t

    def shoulder(self, side: float) -> Point:
        return side * (self.shoulder_half - self.upper_arm_r), self.shoulder_y - self.upper_arm_r

    def along_arm(self, side: float, fraction: float) -> Point:
        """A point on the arm's axis: 0 at the shoulder joint, 1 at the wrist."""
        (x, y), angle = self.shoulder(side), np.radians(self.arm_angle)
        reach = self.arm_length * fraction
        return x + side * reach * float(np.cos(angle)), y - reach * float(np.sin(angle))

    def hand(self, side: float) -> Point:
        return self.along_arm(side, 1.0 + 0.3 * self.head / self.arm_length)


def build_humanoid(ctx: DrawContext) -> Figure:
    archetype = _archetype(ctx)
    body = _measure(archetype, ctx)
    held = _held_items(archetype, ctx)
    paints = _Paints(archetype, ctx)
    fig = Figure(view="front", symmetric=not held)
    fig.shows(ctx.book.subject, "skin", "clothes", "legs", "boots", "gloves", "male")
    fig.shows("bulky", "slender", "small", "tall", *(f for f in ctx.features if f in ARCHETYPES))
    if archetype.female:
        fig.shows("female")
    _draw_long_hair(fig, body, archetype, paints)
    _draw_legs(fig, body, archetype, paints)
    _draw_torso(fig, body, archetype, paints)
    for side in (-1.0, 1.0):
        _draw_arm(fig, body, side, archetype, paints)
    _draw_cape(fig, body, archetype, paints)
    _draw_head(fig, body, archetype, paints)
    _draw_headgear(fig, body, archetype, paints)
    for name, side in held:
        _draw_held(fig, body, name, side, ctx)
    return fig


def _archetype(ctx: DrawContext) -> Archetype:
    """The subject's archetype, varied by the seed (plain people) and by the prompt's features."""
    archetype = ARCHETYPES.get(ctx.book.subject, ARCHETYPES["person"])
    rng, features = ctx.rng, ctx.features
    if archetype is ARCHETYPES["person"]:
        archetype = replace(
            archetype,
            hair=_HAIR_CHOICES[int(rng.integers(len(_HAIR_CHOICES)))],
            top=_cloth(_TOP_CHOICES[int(rng.integers(len(_TOP_CHOICES)))]),
            bottom=_cloth(_BOTTOM_CHOICES[int(rng.integers(len(_BOTTOM_CHOICES)))]),
            long_hair=bool(rng.random() < 0.4),
        )
    own, archetype = archetype, _with_roles(archetype, features)
    headgear = _headgear(archetype, features)
    plain_top = archetype.top.material not in {"steel", "metal", "iron", "leather", "bone", "fur"}
    armoured = ("armor" in features or (archetype.armor and not own.armor)) and plain_top
    female = "female" in features
    hair = archetype.hair
    if female and hair is None and not (archetype.bony or archetype.boxy):
        hair = _HAIR_CHOICES[1]  # under a helmet or a hood her hair still falls to the shoulders
    return replace(
        archetype,
        headgear=headgear,
        gear=archetype.gear if headgear == archetype.headgear else own.gear,
        armor=archetype.armor or "armor" in features,
        robe=archetype.robe or "robe" in features,
        tunic="tunic" in features,
        cape=archetype.cape or "cape" in features,
        beard="beard" in features or (archetype.beard and not female),
        hair=hair,
        long_hair=archetype.long_hair or female,
        female=female,
        top=_STEEL if armoured else archetype.top,
        bottom=_STEEL if armoured else archetype.bottom,
    )


def _with_roles(archetype: Archetype, features: frozenset[str]) -> Archetype:
    """The garb of other classes the prompt names: "an elf mage" wears the wizard's robe and hat and
    holds his staff; the subject keeps its own body, colours and whatever it already wears."""
    for role in (ARCHETYPES[f] for f in sorted(features) if f in ARCHETYPES):
        archetype = replace(
            archetype,
            robe=archetype.robe or role.robe,
            cape=archetype.cape or role.cape,
            armor=archetype.armor or role.armor,
            headgear=archetype.headgear or role.headgear,
            gear=archetype.gear if archetype.headgear else role.gear or role.top,
            kit=archetype.kit or role.kit,
        )
    return archetype


def _headgear(archetype: Archetype, features: frozenset[str]) -> str:
    gear = archetype.headgear
    if "helmet" in features:
        gear = gear if gear in _HELMETS else "full_helmet" if archetype.armor else "open_helmet"
    elif "crown" in features:
        gear = "crown"
    elif "hood" in features:
        gear = "hood"
    elif "hat" in features:
        hats = {"pointed_hat", "brim_hat"}
        gear = "pointed_hat" if "pointed" in features else gear if gear in hats else "brim_hat"
    if "horns" in features and gear in _HELMETS:
        gear = "horned_helmet"
    return gear


def _measure(archetype: Archetype, ctx: DrawContext) -> Body:
    rng, features = ctx.rng, ctx.features
    heads = archetype.heads + (0.5 if "tall" in features else 0.0) - (0.8 if "small" in features else 0.0)
    heads = max(heads, 4.2)
    bulk = archetype.bulk * rng.uniform(0.94, 1.06)
    bulk *= 1.22 if "bulky" in features else 0.84 if "slender" in features else 1.0
    limb = bulk**0.8 * (0.45 if archetype.bony else 1.0)
    h = HEIGHT / heads
    thigh_r = 0.36 * h * limb
    leg_x = 0.07 * h + thigh_r  # the legs' inner edges stay 0.14 heads apart
    shoulders, waist, hips = (0.82, 0.54, 0.84) if archetype.female else (0.95, 0.64, 0.72)
    return Body(
        head=h,
        head_rx=0.42 * h * (1.0 + 0.2 * (bulk - 1.0)) * (0.95 if archetype.female else 1.0),
        shoulder_y=HEIGHT - 1.3 * h,
        shoulder_half=shoulders * h * bulk,
        waist_half=waist * h * bulk,
        hip_half=max(hips * h * bulk, leg_x + thigh_r),
        crotch_y=HEIGHT * (0.46 - 0.02 * (7.5 - heads)),
        leg_x=leg_x,
        foot_x=leg_x + 0.22 * h * rng.uniform(0.9, 1.2),
        thigh_r=thigh_r,
        calf_r=0.25 * h * limb,
        ankle_r=0.15 * h * max(limb, 0.6),
        upper_arm_r=0.26 * h * limb,
        forearm_r=0.21 * h * limb,
        arm_length=0.34 * HEIGHT * (heads / 7.5) ** 0.3,
        arm_angle=float(rng.uniform(36.0, 44.0)),
    )


class _Paints:
    """The paints of a character's parts: the prompt's words first, the archetype's defaults after."""

    def __init__(self, a: Archetype, ctx: DrawContext) -> None:
        book, subject = ctx.book, ctx.book.subject
        self.top = book.paint(
            ("armor", "clothes", subject) if a.armor else ("robe", "tunic", "clothes", "armor", subject),
            a.top,
        )
        self.robe = book.paint(("robe", "tunic"), self.top)  # over armour the robe keeps its own colour
        legs = ("legs", "armor") if a.armor else ("legs",)
        self.bottom = book.paint(legs, book.paint((subject,), a.bottom, rank=1))
        self.skin = book.paint(("skin",), a.skin)
        self.boots = book.paint(("boots",), self.top.tinted(0.75) if a.armor else a.boots)
        self.hands = book.paint(("gloves",), self.top.tinted(0.8) if a.armor else self.skin)
        self.hair = Paint(book.colour(("hair", "mane", "beard"), a.hair or _HAIR_CHOICES[1]), "hair")
        self.eyes = Paint(book.colour(("eyes",), _DARK.rgb), "paint")
        self.helmet = book.paint(("helmet", "armor"), a.gear or (self.top if a.armor else _STEEL))
        self.trim = paint("gold")
        worn = {"hood": "hood", "crown": "crown"}.get(a.headgear, "hat")
        self.hat = book.paint((worn,), a.gear or (self.trim if worn == "crown" else self.top))
        self.cape = book.paint(("cape",), _cloth("red"))
        self.belt = book.paint(("belt",), _DARK_LEATHER)


def _draw_long_hair(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    """Hair falling behind the head to the shoulders, drawn first so the neck and face cover it;
    hers falls from under a helmet or a hood too."""
    covered = {"full_helmet", "hood", "dome"} - ({"full_helmet", "hood"} if a.female else set())
    if a.hair is not None and a.long_hair and a.headgear not in covered:
        rx, h = b.head_rx, b.head
        fig.add(
            "hair_back",
            p.hair,
            shapes.rounded_box(-rx * 1.12, b.head_y - 0.8 * h, rx * 1.12, b.head_y, 0.3 * h),
        )
        fig.shows("hair", "mane")


def _draw_locks(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    """Her long hair in front of the shoulders: two locks inside the torso's outline, so they
    bridge no gap the rigger needs."""
    if a.female and a.hair is not None and a.headgear != "dome":
        rx, h = b.head_rx, b.head
        locks = [
            shapes.capsule(
                (s * rx * 0.92, b.head_y - 0.2 * h), (s * rx, b.shoulder_y - 0.6 * h), 0.2 * h, 0.13 * h
            )
            for s in (-1.0, 1.0)
        ]
        fig.add("hair_front", p.hair, *locks, roundness=0.02)
        fig.shows("hair", "mane")


def _draw_legs(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    knee_y = (b.hip_y + b.ankle_y) * 0.48
    for side, tag in ((-1.0, "r"), (1.0, "l")):
        hip, knee, ankle = ((side * b.leg_axis(y)[0], y) for y in (b.hip_y, knee_y, b.ankle_y))
        thigh = shapes.capsule(hip, knee, b.thigh_r, b.calf_r)
        fig.add(f"leg_{tag}", p.bottom, thigh, shapes.capsule(knee, ankle, b.calf_r, b.ankle_r))
        boot_top = (side * b.leg_axis(knee_y * 0.55)[0], knee_y * 0.55)
        foot = shapes.ellipse(ankle[0], 0.12 * b.head, max(0.21 * b.head, b.ankle_r * 1.4), 0.12 * b.head)
        fig.add(
            f"boot_{tag}", p.boots, shapes.capsule(boot_top, ankle, b.calf_r * 1.05, b.ankle_r * 1.12), foot
        )
        if a.armor:
            fig.add(
                f"knee_{tag}", p.bottom.tinted(1.1), shapes.ellipse(*knee, b.calf_r * 1.15, b.calf_r * 0.95)
            )
        if a.robe or a.tunic:
            garment, reach = ("robe", 0.5) if a.robe else ("tunic", 0.22)
            fig.add(f"{garment}_{tag}", p.robe, _robe_flap(b, side, reach), roundness=0.015)
            fig.shows(garment)


def _robe_flap(b: Body, side: float, reach: float) -> Polygon:
    """A skirt panel over one leg, down `reach` of the way from the crotch to the ankle: its inner
    edge follows the leg's, so the gap between the legs stays."""
    top_y, hem_y = b.crotch_y + 0.6 * b.head, b.crotch_y - reach * (b.crotch_y - b.ankle_y)
    (top_x, top_r), (hem_x, hem_r) = b.leg_axis(top_y), b.leg_axis(hem_y)
    flare = 0.35 * b.head
    corners = [(top_x - top_r, top_y), (top_x + top_r + 0.12 * b.head, top_y), (hem_x + hem_r + flare, hem_y)]
    corners.append((hem_x - hem_r + 0.01 * b.head, hem_y))
    return np.array([(side * x, y) for x, y in corners])


def _draw_torso(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    h = b.head
    waist_y = b.crotch_y + 0.55 * (b.shoulder_y - b.crotch_y)
    hip_y = b.crotch_y + 0.35 * h
    inner = b.leg_x - b.thigh_r
    pelvis = shapes.polygon(
        (-b.hip_half, hip_y + 0.2 * h), (b.hip_half, hip_y + 0.2 * h), (b.hip_half, hip_y),
        (inner, b.crotch_y), (-inner, b.crotch_y), (-b.hip_half, hip_y),
    )  # fmt: skip
    if a.boxy:
        chest = shapes.rounded_box(
            -b.shoulder_half, waist_y - 0.2 * h, b.shoulder_half, b.shoulder_y, 0.15 * h
        )
        torso = [chest, pelvis, shapes.box(-b.waist_half, hip_y, b.waist_half, waist_y)]
    elif a.bony:
        ribs = shapes.ellipse(
            0.0, (b.shoulder_y + waist_y) / 2, b.shoulder_half * 0.8, (b.shoulder_y - waist_y) * 0.62
        )
        torso = [ribs, shapes.box(-0.08 * h, hip_y, 0.08 * h, waist_y), pelvis]
    else:
        right = [
            (b.shoulder_half, b.shoulder_y),
            (b.waist_half, waist_y),
            (b.hip_half, hip_y),
            (inner, b.crotch_y),
        ]
        torso = [np.array(right + [(-x, y) for x, y in reversed(right)])]
    fig.add("neck", p.skin, shapes.box(-0.2 * h, b.shoulder_y - 0.1 * h, 0.2 * h, b.head_y - 0.1 * h))
    fig.add("torso", p.top, *torso, roundness=0.02)
    if a.armor:
        fig.shows("armor")
    if not (a.boxy or a.bony):
        belt_y, half = b.crotch_y + 0.55 * h, b.waist_half + (b.hip_half - b.waist_half) * 0.6
        fig.add(
            "belt", p.belt, shapes.box(-half, belt_y - 0.09 * h, half, belt_y + 0.09 * h), roundness=0.005
        )
        fig.add("buckle", p.trim, shapes.box(-0.1 * h, belt_y - 0.08 * h, 0.1 * h, belt_y + 0.08 * h))
        fig.shows("belt")
    _draw_locks(fig, b, a, p)


def _draw_cape(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    """A shoulder mantle drawn over the arms' roots and pauldrons, ending above the armpits."""
    if a.cape:
        h = b.head
        mantle = shapes.ellipse(0.0, b.shoulder_y - 0.05 * h, b.shoulder_half * 1.02, 0.42 * h)
        fig.add("cape", p.cape, mantle, roundness=0.02)
        fig.add("clasp", p.trim, shapes.circle(0.0, b.shoulder_y - 0.3 * h, 0.08 * h))
        fig.shows("cape")


def _draw_arm(fig: Figure, b: Body, side: float, a: Archetype, p: _Paints) -> None:
    tag = "l" if side > 0 else "r"
    shoulder, elbow, wrist = b.shoulder(side), b.along_arm(side, 0.5), b.along_arm(side, 1.0)
    upper = shapes.capsule(shoulder, elbow, b.upper_arm_r, b.forearm_r)
    fig.add(f"arm_{tag}", p.top, upper, shapes.capsule(elbow, wrist, b.forearm_r, b.forearm_r * 0.7))
    hand_x, hand_y = b.hand(side)
    along = side * (90.0 - b.arm_angle)  # the hand's long axis follows the arm
    palm = max(b.forearm_r * 0.95, 0.13 * b.head)  # wider than the wrist, so the rig finds the wrist
    fig.add(f"hand_{tag}", p.hands, shapes.ellipse(hand_x, hand_y, palm, 0.3 * b.head, along))
    if a.armor:
        centre = (side * (b.shoulder_half - 0.15 * b.head), b.shoulder_y - 0.08 * b.head)
        pauldron = shapes.ellipse(*centre, 0.45 * b.head, 0.3 * b.head, side * -20.0)
        fig.add(f"pauldron_{tag}", p.top.tinted(1.08), pauldron, roundness=0.02)
    if a.boxy:
        fig.add(f"joint_{tag}", p.top.tinted(0.7), shapes.circle(*elbow, b.forearm_r * 1.25))


def _draw_head(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    cy, rx, h = b.head_y, b.head_rx, b.head
    if a.headgear == "hood":
        cowl = shapes.polygon(
            (-rx * 1.3, cy),
            (rx * 1.3, cy),
            (b.shoulder_half * 0.72, b.shoulder_y),
            (-b.shoulder_half * 0.72, b.shoulder_y),
        )
        fig.add("hood", p.hat, shapes.ellipse(0.0, cy + 0.06 * h, rx * 1.3, 0.64 * h), cowl, roundness=0.02)
    if a.ears:
        reach = 0.45 * h if a.ears == "long" else 0.22 * h
        for side, tag in ((-1.0, "r"), (1.0, "l")):
            ear = shapes.polygon((side * rx * 0.85, cy + 0.08 * h), (side * rx * 0.85, cy - 0.15 * h))
            ear = np.vstack([ear, [(side * (rx + reach), cy + 0.3 * h)]])
            fig.add(f"ear_{tag}", p.skin, ear, roundness=0.01)
        fig.shows("pointed")
    if a.boxy:
        fig.add(
            "head", p.skin, shapes.rounded_box(-rx * 1.05, cy - 0.5 * h, rx * 1.05, cy + 0.5 * h, 0.12 * h)
        )
        visor = shapes.rounded_box(-rx * 0.8, cy - 0.02 * h, rx * 0.8, cy + 0.18 * h, 0.05 * h)
        fig.add("visor", Paint((0.3, 0.9, 1.0), "glow"), visor)
        antenna = shapes.capsule((0.0, cy + 0.5 * h), (0.0, cy + 0.8 * h), 0.03 * h)
        fig.add("antenna", p.top.tinted(0.8), antenna, shapes.circle(0.0, cy + 0.82 * h, 0.08 * h))
        return
    fig.add("head", p.skin, shapes.ellipse(0.0, cy, rx, 0.5 * h), roundness=0.04)
    eye = 0.075 * h * (1.6 if a.bony else 1.0)
    eyes = [shapes.ellipse(side * 0.4 * rx, cy - 0.02 * h, eye * 0.8, eye) for side in (-1.0, 1.0)]
    fig.add("eyes", _DARK if a.bony else p.eyes, *eyes, roundness=0.0)
    if not a.bony and a.headgear not in {"full_helmet", "dome"}:  # else hollow or under the visor
        fig.shows("eyes")
    if a.hair is not None and a.headgear not in {"full_helmet", "hood", "dome"}:
        fig.add("hair", p.hair, shapes.ellipse(0.0, cy + 0.1 * h, rx * 1.06, 0.46 * h, arc=(0.0, 180.0)))
        fig.shows("hair", "mane")
    if a.beard:
        right = [(rx * 0.85, cy - 0.12 * h), (rx * 0.6, cy - 0.6 * h)]
        beard = np.array([*right, (0.0, cy - 0.95 * h), *[(-x, y) for x, y in reversed(right)]])
        fig.add("beard", p.hair, beard, roundness=0.02)
        fig.shows("beard")
    if a.tusks:
        tusks = [
            shapes.polygon(
                (s * 0.22 * rx, cy - 0.34 * h), (s * 0.42 * rx, cy - 0.34 * h), (s * 0.36 * rx, cy - 0.12 * h)
            )
            for s in (-1.0, 1.0)
        ]
        fig.add("tusks", paint("bone"), *tusks, roundness=0.0)


def _draw_headgear(fig: Figure, b: Body, a: Archetype, p: _Paints) -> None:
    cy, rx, h = b.head_y, b.head_rx, b.head
    gear = a.headgear
    fig.shows(*_HEADGEAR_WORDS.get(gear, ()))
    if gear == "full_helmet":
        helmet = shapes.rounded_box(-rx * 1.14, cy - 0.54 * h, rx * 1.14, cy + 0.56 * h, 0.32 * h)
        fig.add("helmet", p.helmet, helmet, roundness=0.03)
        slits = [shapes.box(-rx * 0.85, cy - 0.02 * h, rx * 0.85, cy + 0.08 * h)]
        slits.append(shapes.box(-0.04 * h, cy - 0.35 * h, 0.04 * h, cy - 0.02 * h))
        fig.add("visor", _DARK, *slits, roundness=0.0)
    elif gear in {"open_helmet", "horned_helmet"}:
        if gear == "horned_helmet":
            for s, tag in ((-1.0, "r"), (1.0, "l")):
                corners = [(0.7 * rx, 0.25 * h), (1.05 * rx, 0.05 * h), (rx + 0.35 * h, 0.25 * h)]
                corners += [(rx + 0.45 * h, 0.85 * h), (rx + 0.12 * h, 0.35 * h)]
                horn = np.array([(s * x, cy + y) for x, y in corners])
                fig.add(f"horn_{tag}", paint("bone"), horn, roundness=0.01)
        dome = shapes.ellipse(0.0, cy + 0.12 * h, rx * 1.12, 0.48 * h, arc=(0.0, 180.0))
        fig.add("helmet", p.helmet, dome, roundness=0.03)
        brim = shapes.rounded_box(-rx * 1.2, cy + 0.06 * h, rx * 1.2, cy + 0.16 * h, 0.04 * h)
        fig.add("brim", p.helmet.tinted(0.85), brim, roundness=0.01)
    elif gear == "pointed_hat":
        cone = shapes.polygon((-rx * 1.05, cy + 0.2 * h), (rx * 1.05, cy + 0.2 * h), (0.0, cy + 1.7 * h))
        fig.add("hat", p.hat, cone, roundness=0.02)
        fig.add(
            "brim", p.hat.tinted(0.85), shapes.ellipse(0.0, cy + 0.22 * h, rx * 1.9, 0.13 * h), roundness=0.01
        )
    elif gear == "brim_hat":
        crown = shapes.rounded_box(-rx * 0.95, cy + 0.2 * h, rx * 0.95, cy + 0.85 * h, 0.12 * h)
        fig.add("hat", p.hat, crown, roundness=0.02)
        fig.add(
            "brim", p.hat.tinted(0.85), shapes.ellipse(0.0, cy + 0.24 * h, rx * 1.8, 0.13 * h), roundness=0.01
        )
    elif gear == "crown":
        xs = np.linspace(rx * 0.85, -rx * 0.85, 5)
        spikes = [(float(x), cy + (0.85 if i % 2 == 0 else 0.6) * h) for i, x in enumerate(xs)]
        outline = np.array([(-rx * 0.85, cy + 0.3 * h), (rx * 0.85, cy + 0.3 * h), *spikes])
        fig.add("crown", p.hat, outline, roundness=0.01)
    elif gear == "dome":
        fig.add("helmet", p.top, shapes.circle(0.0, cy, 0.78 * h), roundness=0.05)
        visor = shapes.ellipse(0.0, cy + 0.02 * h, 0.52 * h, 0.4 * h)
        fig.add("visor", Paint((0.12, 0.16, 0.3), "glass"), visor, roundness=0.03)
    elif gear == "hood":  # its rim over the brow: the hood sits on the head, the face inside it
        outer = shapes.ellipse(0.0, cy + 0.06 * h, rx * 1.3, 0.64 * h, arc=(0.0, 180.0))
        inner = shapes.ellipse(0.0, cy + 0.02 * h, rx * 0.9, 0.4 * h, arc=(0.0, 180.0))
        fig.add("hood", p.hat, np.concatenate([outer, inner[::-1]]), roundness=0.02)
        if p.hat.rgb == _cloth("black").rgb:  # a ninja's mask
            fig.add("mask", p.hat, shapes.box(-rx, cy - 0.5 * h, rx, cy - 0.12 * h), roundness=0.01)


def _held_items(a: Archetype, ctx: DrawContext) -> list[tuple[str, float]]:
    """(prop, side) pairs: weapons in the right hand (image left), shields, bows and lights in the left."""
    # in the table's order, not the feature set's (a frozenset's order changes between processes)
    named = [name for name, kind in PROP_KINDS.items() if name in ctx.features and kind.held_length > 0]
    held: dict[float, str] = {}
    for name in named or a.kit:
        preferred = -1.0 if PROP_KINDS[name].hand == "right" else 1.0
        side = next((s for s in (preferred, -preferred) if s not in held), None)
        if side is not None:
            held[side] = name
    return sorted(((name, side) for side, name in held.items()), key=lambda item: item[1])


def _draw_held(fig: Figure, b: Body, name: str, side: float, ctx: DrawContext) -> None:
    """Nothing held rises above the top of the head (the rigger takes the top for the head), nor
    reaches below the feet: a long staff slides down through the hand, and is shortened if need be."""
    kind = PROP_KINDS[name]
    scale = min(kind.held_length, _HELD_REACH) * HEIGHT
    anchor = b.along_arm(side, 0.8) if name == "shield" else b.hand(side)  # shields ride the forearm
    mirror = side < 0  # blades and bows face away from the body
    bottom = anchor[1] - kind.grip[1] * scale
    bottom -= min(max(0.0, bottom + scale - _HELD_REACH * HEIGHT), bottom)
    offset = (anchor[0] - kind.grip[0] * scale * (-1.0 if mirror else 1.0), bottom)
    fig.shows(name)
    with fig.placed(scale, offset, mirror=mirror, prefix=f"{name}."):
        kind.draw(fig, replace(ctx, variant=""))
