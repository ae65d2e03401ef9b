"""The prompt vocabulary: what a prompt asks for, in the words the pipeline knows.

The orchestrator infers the asset type and rig type from `analyse_prompt`; the procedural
concept-image backend draws from it. One table per kind of word, each mapping the words
people write (synonyms, spelling variants) to one canonical name.

Rules:
- The subject is the first creature word (humanoid or quadruped); without one, the first
  prop word. Creatures win over the props they hold: "a knight with a round shield" is a knight.
  A plain person word yields to a later specific humanoid: "a woman knight" is a knight.
- Features are the other recognised words: worn and held items, build, parts, other creatures
  ("an elf mage" is an elf with the wizard's garb) and "female" for any word that says so.
- Colour and material words are adjectives of the next noun ("red armor" binds red to armor);
  those that reach a preposition, a comma or the end without a noun bind to the subject.
- Without a subject word, an unknown word that reads like a person ("-smith", "-ist", ...)
  falls back to a humanoid "person", anything else to a generic prop "object"; `unplaced` is
  then the word most likely meant as the subject: the last unknown word of the first phrase
  ("a giant spider with red eyes" -> "spider"), and `closest_subjects` the known words
  spelled most like it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

Category = Literal["humanoid", "quadruped", "prop"]

FALLBACK_HUMANOID = "person"
FALLBACK_PROP = "object"


def _expand(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """{canonical: (synonyms...)} -> {word: canonical}, the canonical name included."""
    words: dict[str, str] = {}
    for canonical, synonyms in table.items():
        for word in (canonical, *synonyms):
            words[word] = canonical
    return words


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


HUMANOIDS = _expand(
    {
        "knight": ("paladin", "crusader", "templar"),
        "warrior": ("fighter", "barbarian", "gladiator", "berserker", "mercenary", "swordsman"),
        "wizard": ("mage", "sorcerer", "sorceress", "witch", "warlock", "magician", "necromancer", "druid"),
        "orc": (),
        "elf": ("elven", "elvish"),
        "robot": ("android", "cyborg", "mech", "droid", "automaton", "bot"),
        "soldier": ("guard", "trooper", "infantry", "marine", "sentry"),
        "person": (
            "man",
            "woman",
            "human",
            "guy",
            "girl",
            "boy",
            "lady",
            "gentleman",
            "character",
            "hero",
            "heroine",
            "villager",
            "peasant",
            "farmer",
            "npc",
            "adventurer",
            "kid",
            "child",
            "merchant",
            "blacksmith",
            "miner",
            "baker",
            "gardener",
            "priest",
            "monk",
            "nun",
            "people",
        ),
        "zombie": ("undead", "ghoul", "mummy"),
        "skeleton": ("skeletal",),
        "dwarf": ("dwarven",),
        "goblin": ("imp", "gnome", "kobold"),
        "troll": ("ogre", "giantess", "cyclops"),
        "king": ("queen", "prince", "princess", "emperor", "empress", "lord", "monarch"),
        "pirate": ("sailor", "buccaneer", "corsair"),
        "ninja": ("assassin", "rogue", "thief", "samurai"),
        "archer": ("ranger", "hunter", "bowman", "huntress"),
        "viking": ("norseman",),
        "astronaut": ("spaceman", "cosmonaut"),
    }
)

QUADRUPEDS = _expand(
    {
        "wolf": ("werewolf", "warg"),
        "dog": ("hound", "puppy", "doggo", "pup", "husky", "terrier", "retriever"),
        "fox": ("vixen",),
        "horse": ("pony", "stallion", "mare", "steed", "unicorn", "donkey", "mule", "zebra", "foal"),
        "cat": ("kitten", "kitty", "lynx"),
        "lion": ("lioness",),
        "tiger": ("tigress",),
        "panther": ("jaguar", "leopard", "cheetah", "puma", "cougar"),
        "bear": ("grizzly",),
        "deer": ("stag", "elk", "moose", "reindeer", "doe", "antelope", "fawn", "gazelle"),
        "cow": ("bull", "ox", "buffalo", "bison", "yak", "cattle", "calf"),
        "pig": ("boar", "hog", "piglet", "swine"),
        "goat": ("ibex",),
        "sheep": ("lamb", "ram"),
        "animal": ("beast", "creature", "critter", "pet", "mount"),
    }
)

PROPS = _expand(
    {
        "sword": ("blade", "katana", "dagger", "sabre", "saber", "longsword", "knife", "rapier", "scimitar"),
        "shield": ("buckler",),
        "chest": ("treasure", "coffer", "strongbox", "lootbox"),
        "barrel": ("keg", "cask"),
        "crate": ("box", "container"),
        "tree": ("pine", "fir", "spruce", "palm", "willow", "birch", "maple", "sapling", "bush"),
        "rock": ("boulder", "pebble", "stones"),
        "potion": ("flask", "bottle", "vial", "elixir", "jar"),
        "lamp": ("lantern", "lamppost", "candle"),
        "axe": ("hatchet", "battleaxe", "tomahawk"),
        "table": ("desk", "workbench"),
        "mushroom": ("toadstool", "shroom", "fungus"),
        "hammer": ("mace", "warhammer", "mallet", "maul", "club"),
        "staff": ("wand", "rod", "cane", "scepter", "sceptre"),
        "spear": ("lance", "pike", "halberd", "trident", "javelin"),
        "chair": ("stool", "throne", "seat", "bench"),
        "bow": ("longbow", "crossbow", "shortbow"),
    }
)

COLOURS = _expand(
    {
        "red": ("crimson", "scarlet", "ruby"),
        "maroon": ("burgundy",),
        "orange": ("amber",),
        "yellow": (),
        "golden": ("gilded",),
        "green": ("emerald",),
        "olive": (),
        "lime": (),
        "teal": ("turquoise", "cyan", "aqua"),
        "blue": ("azure", "sapphire", "cobalt"),
        "navy": (),
        "purple": ("violet", "lavender", "indigo", "magenta"),
        "pink": ("rose",),
        "brown": ("chocolate", "tan"),
        "beige": ("cream",),
        "black": ("ebony", "jet"),
        "white": ("snowy", "ivory"),
        "grey": ("gray", "grayish", "greyish", "ash", "ashen"),
        "silvery": (),
    }
)

MATERIALS = _expand(
    {
        "wood": ("wooden", "timber", "oak", "oaken", "plank", "planks", "bamboo"),
        "metal": ("metallic", "metal-plated"),
        "iron": ("wrought", "rusty", "rusted", "cast-iron"),
        "steel": ("chrome", "chromed", "steely"),
        "gold": (),
        "silver": (),
        "bronze": ("brass", "copper"),
        "stone": ("stony", "granite", "cobblestone", "marble", "rocky"),
        "glass": ("glassy", "transparent"),
        "crystal": ("crystalline", "gem", "gemstone", "diamond"),
        "leather": ("hide", "suede"),
        "cloth": ("fabric", "cotton", "silk", "silken", "wool", "woolen", "woollen", "linen", "velvet"),
        "fur": ("furry", "fluffy", "shaggy"),
        "bone": ("bony",),
        "ice": ("icy", "frozen", "frost"),
    }
)

# Words that change how the subject is drawn: worn items, held items' shapes, body build.
FEATURES = _expand(
    {
        "helmet": ("helm", "visor"),
        "hat": ("cap",),
        "hood": ("hooded", "cowl"),
        "crown": ("tiara", "diadem", "circlet"),
        "cape": ("cloak", "mantle"),
        "armor": ("armour", "armored", "armoured", "plate", "mail", "chainmail"),
        "robe": ("robes", "gown", "dress"),
        "tunic": ("tabard", "surcoat"),
        "female": ("feminine",),
        "male": ("masculine",),
        "pointed": ("pointy", "conical"),
        "beard": ("bearded",),
        "horns": ("horned",),
        "bulky": (
            "big",
            "large",
            "huge",
            "giant",
            "fat",
            "muscular",
            "stocky",
            "heavy",
            "burly",
            "massive",
            "hulking",
            "chunky",
            "strong",
            "brawny",
        ),
        "slender": ("thin", "slim", "skinny", "lean", "lanky", "graceful", "elegant", "slight"),
        "small": ("tiny", "little", "short", "mini", "chibi", "young", "baby"),
        "tall": ("towering", "long-legged"),
        "round": ("circular", "rounded", "spherical"),
        "square": ("rectangular", "kite", "heater", "boxy"),
    }
)

# Parts of a subject a colour can be given to ("a sword with a golden hilt").
PART_NOUNS = _expand(
    {
        "hair": (),
        "mane": (),
        "skin": (),
        "eyes": ("eye",),
        "clothes": ("clothing", "shirt", "outfit", "uniform", "jacket", "vest", "coat"),
        "legs": ("pants", "trousers", "trouser", "leggings", "leg"),
        "boots": ("shoes", "boot", "shoe"),
        "gloves": ("gauntlets", "hands"),
        "belt": ("sash",),
        "hilt": ("handle", "grip", "crossguard", "shaft"),
        "lid": ("top",),
        "leaves": ("foliage", "leaf", "canopy"),
        "trunk": ("bark",),
        "liquid": ("water", "brew"),
        "bands": ("band", "hoops", "hoop", "straps", "trim", "rim"),
    }
)

STOPWORDS = _word_set(
    """a an the in with of and or on at to for from by his her its their wearing holding carrying
    wielding riding made into some very has have having is are that which who this one two three
    four lots full filled bearing covered clad dressed colored coloured color colour style styled
    concept art render model asset game ready lowpoly low poly 3d cute old ancient new simple
    detailed epic magic magical fantasy medieval standing stylized stylised cartoon realistic light
    bright pale deep dark shiny glowing evil good like looking"""
)

# Unknown words with these endings read like a person ("an alchemist", "a postman", "a sorceress").
_PERSON_SUFFIXES = ("ist", "man", "men", "woman", "smith", "keeper", "maker", "ian", "eer", "ess", "ster")

_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*|[,;.!?:()]")
_NOUN_TABLES = (HUMANOIDS, QUADRUPEDS, PROPS, PART_NOUNS)
_ALL_TABLES = (*_NOUN_TABLES, COLOURS, MATERIALS, FEATURES)
_WORN = frozenset(
    w
    for w, c in FEATURES.items()
    if c in {"helmet", "hat", "hood", "crown", "cape", "armor", "robe", "tunic"}
)
# Words that say the subject is a woman or a girl: the drawer gives her a female build.
_FEMALE_WORDS = _word_set(
    """female feminine woman girl lady heroine nun queen princess empress sorceress witch huntress
    giantess she her herself"""
)
_INFLECTIONS = frozenset({"elven", "elvish", "dwarven", "stones", "people"})  # forms, not variants
_PUNCTUATION = frozenset(",;.!?:()")
_FLUSHING = _PUNCTUATION | {"with", "in", "and", "holding", "wearing", "carrying", "wielding", "on", "of"}


@dataclass(frozen=True)
class PromptAnalysis:
    category: Category
    subject: str  # the recognised class: "knight", "wolf", "chest"; a fallback when not recognised
    colours: tuple[str, ...]  # canonical colour words in prompt order: ("red",)
    materials: tuple[str, ...]  # canonical material words: ("wood", "metal")
    unknown_words: tuple[str, ...]  # content words it did not understand
    recognised: bool  # False: nothing matched, subject/category are the fallback
    # Additions beyond the core fields (defaulted, so the six above keep their meaning):
    variant: str = ""  # the subject's own word when it names a variant of its class: "pine", "unicorn"
    features: tuple[str, ...] = ()  # other recognised words: held props, worn items, build, parts
    bindings: tuple[tuple[str, str], ...] = ()  # (noun, colour or material): ("armor", "red")
    unplaced: str = ""  # not recognised: the unknown word most likely naming the subject, "spider"


def analyse_prompt(text: str) -> PromptAnalysis:
    """Classify a free-text prompt; pure and deterministic."""
    tokens = _tokens(text)
    words = [word for word in tokens if word not in _PUNCTUATION]

    creature = _subject_creature(words)
    prop = _first(words, (PROPS,))
    unknown = _unique(word for word in words if _is_unknown(word))

    recognised = creature is not None or prop is not None
    if creature is not None:
        subject_word = creature
    elif prop is not None:
        subject_word = prop
    else:
        subject_word = next((w for w in unknown if len(w) >= 6 and w.endswith(_PERSON_SUFFIXES)), "")
    category, subject = _classify(subject_word)

    return PromptAnalysis(
        category=category,
        subject=subject,
        colours=_unique(COLOURS[w] for w in words if w in COLOURS),
        materials=_unique(MATERIALS[w] for w in words if w in MATERIALS),
        unknown_words=unknown,
        recognised=recognised,
        variant=_variant(subject_word, subject, recognised),
        features=_features(words, subject_word),
        bindings=_bindings(tokens, subject),
        unplaced="" if recognised else _unplaced(tokens),
    )


SUBJECT_WORDS = tuple(sorted({*HUMANOIDS, *QUADRUPEDS, *PROPS}))


def closest_subjects(word: str, count: int = 3) -> tuple[str, ...]:
    """The known subject words spelled most like `word`: the close ones, else the nearest few."""
    close = difflib.get_close_matches(word, SUBJECT_WORDS, n=count)
    return tuple(close or difflib.get_close_matches(word, SUBJECT_WORDS, n=count, cutoff=0.0))


def _unplaced(tokens: list[str]) -> str:
    """The last unknown word before the first preposition or punctuation (a noun phrase's head)."""
    phrase: list[str] = []
    for token in tokens:
        if token in _FLUSHING and any(_is_unknown(word) for word in phrase):
            break
        phrase.append(token)
    heads = [word for word in phrase if _is_unknown(word)]
    return heads[-1] if heads else ""


def _tokens(text: str) -> list[str]:
    """Lower-case words and punctuation; unknown hyphenated words split into their parts."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        token = _canonical_token(raw)
        if "-" in token and not _is_known(token):
            tokens.extend(_canonical_token(part) for part in token.split("-") if part)
        else:
            tokens.append(token)
    return tokens


def _canonical_token(token: str) -> str:
    """The token itself if known, else its singular if that is known (wolves -> wolf)."""
    if _is_known(token) or token in _PUNCTUATION:
        return token
    for suffix, replacement in (("ves", "f"), ("ves", "fe"), ("ies", "y"), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) > len(suffix) + 1:
            singular = token[: -len(suffix)] + replacement
            if _is_known(singular):
                return singular
    return token


def _is_known(word: str) -> bool:
    return word in STOPWORDS or any(word in table for table in _ALL_TABLES)


def _is_unknown(word: str) -> bool:
    return not _is_known(word) and len(word) > 1


def _first(words: list[str], tables: tuple[Mapping[str, str], ...]) -> str | None:
    return next((w for w in words if any(w in table for table in tables)), None)


def _subject_creature(words: list[str]) -> str | None:
    """The first creature word; a plain person word ("a woman knight") yields to a later, specific one."""
    creature = _first(words, (HUMANOIDS, QUADRUPEDS))
    if creature is not None and HUMANOIDS.get(creature) == FALLBACK_HUMANOID:
        specific = (w for w in words if HUMANOIDS.get(w, FALLBACK_HUMANOID) != FALLBACK_HUMANOID)
        return next(specific, creature)
    return creature


def _classify(word: str) -> tuple[Category, str]:
    if word in HUMANOIDS:
        return "humanoid", HUMANOIDS[word]
    if word in QUADRUPEDS:
        return "quadruped", QUADRUPEDS[word]
    if word in PROPS:
        return "prop", PROPS[word]
    if word:  # an unknown word that reads like a person
        return "humanoid", FALLBACK_HUMANOID
    return "prop", FALLBACK_PROP


def _noun(word: str) -> str | None:
    for table in (*_NOUN_TABLES, FEATURES):
        if word in table and (table is not FEATURES or word in _WORN):
            return table[word]
    return None


def _variant(subject_word: str, subject: str, recognised: bool) -> str:
    return subject_word if recognised and subject_word not in (subject, *_INFLECTIONS) else ""


def _features(words: list[str], subject_word: str) -> tuple[str, ...]:
    """Every recognised word that is not the subject, a colour or a material, canonical; other
    creatures ("an elf mage": wizard) as their class, plain person words only as "female"."""
    subject = _classify(subject_word)[1]
    found: list[str] = []
    for word in words:
        if word in _FEMALE_WORDS:
            found.append("female")
        if word == subject_word:
            continue
        for table in (PROPS, FEATURES, PART_NOUNS, HUMANOIDS, QUADRUPEDS):
            if word in table:
                found.append(table[word])
                break
    return _unique(f for f in found if f not in (subject, FALLBACK_HUMANOID))


def _bindings(tokens: list[str], subject: str) -> tuple[tuple[str, str], ...]:
    """(noun, attribute) pairs: colours and materials bound to the noun they describe."""
    pairs: list[tuple[str, str]] = []
    pending: list[str] = []  # canonical colours/materials waiting for their noun
    last_material = ""
    for word in tokens:
        if word in COLOURS or word in MATERIALS:
            pending.append(COLOURS.get(word) or MATERIALS[word])
            last_material = MATERIALS.get(word, "")
            continue
        noun = _noun(word)
        if noun is not None:
            pairs.extend((noun, attribute) for attribute in pending)
            pending, last_material = [], ""
        elif word in _FLUSHING:
            pairs.extend(_flush(pending, last_material, subject))
            pending, last_material = [], ""
    pairs.extend(_flush(pending, last_material, subject))
    return tuple(dict.fromkeys(pairs))


def _flush(pending: list[str], last_material: str, subject: str) -> Iterator[tuple[str, str]]:
    """Attributes with no noun: "grey fur" uses the material as the noun, else the subject."""
    if last_material and len(pending) > 1 and pending[-1] == last_material:
        yield from ((last_material, attribute) for attribute in pending[:-1])
        yield (subject, last_material)
    else:
        yield from ((subject, attribute) for attribute in pending)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
