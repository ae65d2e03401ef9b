"""assetcore.prompting: the detail words the drawer acts on (hoods, tunics, pointed hats, manes,
gender words, other classes as garb) and the subject a plain person word yields to."""

from __future__ import annotations

import pytest

from assetcore.prompting import analyse_prompt


@pytest.mark.parametrize(
    ("prompt", "features"),
    [
        ("an elf with a hood", {"hood"}),
        ("a hooded archer", {"hood"}),
        ("a wizard with a pointed hat", {"pointed", "hat"}),
        ("a peasant in a tunic", {"tunic"}),
        ("a woman in a dress", {"robe", "female"}),
        ("a horse with a black mane", {"mane"}),
    ],
)
def test_detail_words(prompt: str, features: set[str]) -> None:
    analysis = analyse_prompt(prompt)
    assert features <= set(analysis.features) and analysis.unknown_words == ()


def test_a_hood_is_not_a_hat_and_a_mane_is_not_hair() -> None:
    assert "hat" not in analyse_prompt("an elf with a hood").features
    assert ("hood", "red") in analyse_prompt("an archer with a red hood").bindings
    assert analyse_prompt("a horse with a black mane").bindings == (("mane", "black"),)


@pytest.mark.parametrize(
    "prompt",
    ["a female knight", "a woman", "a girl with a sword", "a queen", "a sorceress", "an archer and her bow"],
)
def test_gender_words_make_the_subject_female(prompt: str) -> None:
    assert "female" in analyse_prompt(prompt).features


@pytest.mark.parametrize("prompt", ["a knight", "a man", "a boy", "a male elf", "a king"])
def test_no_female_without_a_word_for_it(prompt: str) -> None:
    assert "female" not in analyse_prompt(prompt).features


@pytest.mark.parametrize(
    ("prompt", "subject", "roles"),
    [
        ("an elf mage", "elf", {"wizard"}),
        ("a skeleton archer with a bow", "skeleton", {"archer"}),
        ("a woman knight", "knight", set()),  # a plain person word yields to the specific class
        ("a man riding a horse", "person", {"horse"}),
        ("a knight riding a horse", "knight", {"horse"}),
    ],
)
def test_other_creatures_are_features_and_person_words_yield(
    prompt: str, subject: str, roles: set[str]
) -> None:
    analysis = analyse_prompt(prompt)
    creatures = {"wizard", "archer", "horse", "knight", "person"}
    assert (analysis.subject, set(analysis.features) & creatures) == (subject, roles)
