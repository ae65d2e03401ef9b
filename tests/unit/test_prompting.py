"""assetcore.prompting: what a prompt asks for, in the pipeline's vocabulary."""

from __future__ import annotations

import pytest

from assetcore.prompting import (
    COLOURS,
    FALLBACK_HUMANOID,
    FALLBACK_PROP,
    MATERIALS,
    PROPS,
    SUBJECT_WORDS,
    PromptAnalysis,
    analyse_prompt,
    closest_subjects,
)


@pytest.mark.parametrize(
    ("prompt", "category", "subject"),
    [
        ("a knight in red armor with a round shield", "humanoid", "knight"),
        ("a grey wolf", "quadruped", "wolf"),
        ("a wooden treasure chest", "prop", "chest"),
    ],
)
def test_acceptance_prompts_classify(prompt: str, category: str, subject: str) -> None:
    analysis = analyse_prompt(prompt)
    assert (analysis.category, analysis.subject, analysis.recognised) == (category, subject, True)
    assert analysis.unknown_words == ()


def test_acceptance_prompts_attributes() -> None:
    knight = analyse_prompt("a knight in red armor with a round shield")
    assert knight.colours == ("red",)
    assert ("armor", "red") in knight.bindings
    assert "shield" in knight.features
    assert analyse_prompt("a grey wolf").colours == ("grey",)
    chest = analyse_prompt("a wooden treasure chest")
    assert chest.materials == ("wood",)
    assert ("chest", "wood") in chest.bindings


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("a warrior holding a sword", "warrior"),
        ("an orc with an axe and a shield", "orc"),
        ("a sword-wielding elf", "elf"),
        ("a barrel next to a wizard", "wizard"),
        ("a robot riding a horse", "robot"),
        ("a wolf carrying a lantern", "wolf"),
    ],
)
def test_creatures_win_over_the_props_they_hold(prompt: str, subject: str) -> None:
    assert analyse_prompt(prompt).subject == subject


@pytest.mark.parametrize(
    "prompt",
    ["a soldier", "a zombie", "a woman", "a man", "a person", "an elf", "a wizard", "a skeleton", "a dwarf"],
)
def test_humanoids(prompt: str) -> None:
    assert analyse_prompt(prompt).category == "humanoid"


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("a dog", "dog"),
        ("a horse", "horse"),
        ("a black cat", "cat"),
        ("a bear", "bear"),
        ("a fox", "fox"),
        ("a stag", "deer"),
        ("a lion", "lion"),
        ("three wolves", "wolf"),
        ("two foxes", "fox"),
        ("a unicorn", "horse"),
    ],
)
def test_quadrupeds(prompt: str, subject: str) -> None:
    analysis = analyse_prompt(prompt)
    assert (analysis.category, analysis.subject) == ("quadruped", subject)


@pytest.mark.parametrize(
    "subject",
    ["sword", "shield", "chest", "barrel", "crate", "tree", "rock", "potion", "lamp", "axe", "table"],
)
def test_prop_classes(subject: str) -> None:
    analysis = analyse_prompt(f"a {subject}")
    assert (analysis.category, analysis.subject, analysis.recognised) == ("prop", subject, True)


def test_plurals() -> None:
    assert [analyse_prompt(p).subject for p in ("orcs", "elves", "knives", "boxes", "potions")] == [
        "orc",
        "elf",
        "sword",
        "crate",
        "potion",
    ]


def test_prop_synonyms_and_variants() -> None:
    assert analyse_prompt("a glowing lantern").subject == "lamp"
    pine = analyse_prompt("a tall pine")
    assert (pine.subject, pine.variant, pine.features) == ("tree", "pine", ("tall",))
    assert analyse_prompt("a tree").variant == ""
    assert analyse_prompt("a big wooden box").subject == "crate"
    assert len(set(PROPS.values())) >= 8


@pytest.mark.parametrize(
    ("prompt", "colours"),
    [
        ("a gray rock", ("grey",)),
        ("a grey rock", ("grey",)),
        ("a golden crown on a blue chest", ("golden", "blue")),
        ("a crimson and white banner", ("red", "white")),
    ],
)
def test_colour_words(prompt: str, colours: tuple[str, ...]) -> None:
    assert analyse_prompt(prompt).colours == colours


@pytest.mark.parametrize(
    ("prompt", "materials"),
    [
        ("a wooden shield", ("wood",)),
        ("an iron sword with a leather grip", ("iron", "leather")),
        ("a stone golem", ("stone",)),
        ("a glass potion", ("glass",)),
        ("a gold and metal lamp", ("gold", "metal")),
    ],
)
def test_material_words(prompt: str, materials: tuple[str, ...]) -> None:
    assert analyse_prompt(prompt).materials == materials


def test_colours_bind_to_the_noun_they_describe() -> None:
    analysis = analyse_prompt("a knight with a blue shield and red armor, holding a sword with a golden hilt")
    assert {("shield", "blue"), ("armor", "red"), ("hilt", "golden")} <= set(analysis.bindings)
    assert analyse_prompt("a wolf with grey fur").bindings == (("fur", "grey"), ("wolf", "fur"))
    assert analyse_prompt("a knight in red").bindings == (("knight", "red"),)


def test_unknown_words_are_listed_and_the_subject_falls_back() -> None:
    analysis = analyse_prompt("a shimmering zorblax")
    assert analysis.unknown_words == ("shimmering", "zorblax")
    assert (analysis.category, analysis.subject, analysis.recognised) == ("prop", FALLBACK_PROP, False)


@pytest.mark.parametrize(
    ("prompt", "unplaced"),
    [
        ("a giant spider", "spider"),
        ("a giant spider with red eyes", "spider"),
        ("a spooky haunted house, made of stone", "house"),
        ("with a dragon", "dragon"),
        ("a red one", ""),
        ("a knight riding a dragon", ""),  # recognised: nothing is unplaced
    ],
)
def test_the_unplaced_word_heads_the_first_phrase(prompt: str, unplaced: str) -> None:
    assert analyse_prompt(prompt).unplaced == unplaced


def test_closest_subjects_by_spelling_else_the_nearest_few() -> None:
    assert closest_subjects("robott") == ("robot", "bottle", "bot")
    assert closest_subjects("wolff")[0] == "wolf"
    assert len(closest_subjects("qqqq")) == 3  # nothing close: still the three nearest
    assert set(closest_subjects("spider")) <= set(SUBJECT_WORDS)


def test_person_like_unknown_words_fall_back_to_a_humanoid() -> None:
    analysis = analyse_prompt("a cheerful alchemist")
    assert (analysis.category, analysis.subject, analysis.recognised) == (
        "humanoid",
        FALLBACK_HUMANOID,
        False,
    )
    assert "alchemist" in analysis.unknown_words


def test_known_words_are_not_unknown() -> None:
    analysis = analyse_prompt("A Knight, in RED armour; with a round shield!")
    assert analysis.unknown_words == ()
    assert analysis.subject == "knight"


def test_empty_and_punctuation_only_prompts() -> None:
    for text in ("", "   ", "!!!", "123"):
        analysis = analyse_prompt(text)
        assert analysis == PromptAnalysis("prop", FALLBACK_PROP, (), (), (), False)


def test_deterministic_and_hashable() -> None:
    prompt = "a bulky orc warrior in leather armor with a huge axe"
    assert analyse_prompt(prompt) == analyse_prompt(prompt)
    assert hash(analyse_prompt(prompt)) == hash(analyse_prompt(prompt))
    assert {"bulky", "armor", "axe"} <= set(analyse_prompt(prompt).features)


def test_vocabulary_tables_do_not_overlap_on_meaning() -> None:
    """A word is a colour or a material, never both, so bindings stay unambiguous."""
    assert not set(COLOURS) & set(MATERIALS)
