"""The prompt's details the procedural drawing leaves out are listed, and the tti step reports
them as a job warning ("not drawn: ...")."""

from __future__ import annotations

import pytest

from assetcore.job_warnings import PREFIX
from assetcore.prompting import analyse_prompt
from services.tti.drawing.details import Undrawn, undrawn_details
from services.tti.step import STEP
from tests.support.image_steps import image_request
from tests.support.steps import no_progress, run_step_function


def undrawn(prompt: str) -> Undrawn:
    return undrawn_details(analyse_prompt(prompt))


def test_unknown_words_are_listed() -> None:
    details = undrawn("a knight with a glowing scar on his cheek")
    assert details == Undrawn((), ("scar", "cheek"))
    assert details.line() == "not drawn: scar, cheek (unknown words)"


@pytest.mark.parametrize(
    ("prompt", "understood"),
    [
        ("a knight riding a horse", ("horse",)),  # another creature
        ("a knight with blue eyes", ("blue eyes",)),  # eyes under a full helmet
        ("a knight with a chest", ("chest",)),  # not a thing a hand holds
        ("a knight with an axe, a sword and a shield", ("axe",)),  # no third hand
        ("a wolf wearing a red hat", ("red hat",)),  # quadrupeds wear nothing
        ("a female wolf", ("female",)),
        ("a horned elf", ("horns",)),  # horns only on a helmet
    ],
)
def test_understood_details_without_a_drawing_are_listed(prompt: str, understood: tuple[str, ...]) -> None:
    assert undrawn(prompt).understood == understood


@pytest.mark.parametrize(
    "prompt",
    [
        "an elf mage in a blue robe with a hood",
        "a female knight in red armor with a round shield",
        "a horse with a black mane",
        "a dwarf with a green cloak and an axe",
        "a wizard with a staff and a pointed hat",
        "a skeleton archer with a bow",
        "a brown wooden chest with iron bands",
        "a woman in a yellow dress",
        "an elf with blue eyes",
        "a sword with a golden hilt",
        "a grey wolf",
    ],
)
def test_what_the_drawer_shows_is_not_listed(prompt: str) -> None:
    assert not undrawn(prompt), undrawn(prompt)


def test_both_kinds_in_one_line() -> None:
    line = undrawn("a knight with a glowing scar riding a horse").line()
    assert line == "not drawn: horse (understood, not drawable here); scar (unknown words)"


def notes(prompt: str, **params: object) -> list[str]:
    backend = STEP.backends["procedural"].create()
    request = image_request("tti", prompt, params={"size": 256, **params})
    return run_step_function(backend, request, no_progress).notes


def test_the_tti_step_reports_them_as_a_warning() -> None:
    warnings = [n for n in notes("a knight with a glowing scar on his cheek") if n.startswith(PREFIX)]
    assert warnings == [PREFIX + "not drawn: scar, cheek (unknown words)"]
    assert not any(n.startswith(PREFIX) for n in notes("a knight in red armor with a round shield"))


def test_a_stand_in_warns_once_not_about_every_detail() -> None:
    warnings = [n for n in notes("a giant spider with red eyes", stand_in=True) if n.startswith(PREFIX)]
    assert len(warnings) == 1 and "stand-in" in warnings[0]
