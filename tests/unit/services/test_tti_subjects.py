"""The procedural tti backend's vocabulary at CreateJob: an unknown subject is UNSUPPORTED_SUBJECT
naming the word and its nearest known subjects, unless the job accepts a stand-in; an ML tti
backend accepts every prompt."""

from __future__ import annotations

import pytest

from assetcore.errors import UNSUPPORTED_SUBJECT, InvalidArgument
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import OptionsInvalid, load_catalog
from services.orchestrator.validation import resolve_input
from services.tti.procedural_options import ProceduralOptions

CATALOG = load_catalog()
PROCEDURAL = {"tti": "procedural"}


def job(concept: str, details: str = "", **tti: bool | str) -> job_pb2.JobInput:
    given = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=concept, details=details))
    if tti:
        given.step_options["tti"].update(tti)
    return given


def refusal(given: job_pb2.JobInput) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(given, CATALOG, PROCEDURAL)
    return raised.value


def test_an_unknown_subject_is_refused_naming_the_word_and_the_closest_subjects() -> None:
    error = refusal(job("a giant spider"))
    assert (error.code, error.field) == (UNSUPPORTED_SUBJECT, "input.prompt.concept")
    assert "cannot draw 'spider'" in error.message
    assert "closest subjects it knows: spear, rapier, soldier" in error.message
    assert "tti.stand_in=true" in error.message


def test_the_word_that_reads_like_a_person_suggests_a_person_first() -> None:
    assert "closest subjects it knows: person, " in refusal(job("a cheerful alchemist")).message


def test_a_prompt_with_no_subject_word_at_all_is_refused_too() -> None:
    error = refusal(job("a red one"))
    assert error.code == UNSUPPORTED_SUBJECT and "names no subject" in error.message


def test_the_subject_may_come_from_the_details() -> None:
    assert refusal(job("something", details="a dragon")).message.count("'dragon'") == 1
    _, pipeline, _ = resolve_input(job("a red", details="wolf"), CATALOG, PROCEDURAL)
    assert pipeline.name == "character"


@pytest.mark.parametrize("prompt", ["a knight", "a grey wolf", "a wooden barrel", "a chest", "a giant orc"])
def test_known_subjects_pass(prompt: str) -> None:
    resolve_input(job(prompt), CATALOG, PROCEDURAL)


def test_the_stand_in_option_accepts_an_unknown_subject() -> None:
    resolved, pipeline, _ = resolve_input(job("a giant spider", stand_in=True), CATALOG, PROCEDURAL)
    assert pipeline.name == "prop" and resolved.step_options["tti"]["stand_in"] is True


def test_the_stand_in_option_is_a_flag() -> None:
    error = refusal(job("a giant spider", stand_in="yes"))
    assert (error.code, error.field) == ("INVALID_ARGUMENT", "input.step_options.tti.stand_in")


def test_an_ml_tti_backend_accepts_every_prompt_and_has_no_stand_in_option() -> None:
    for prompt in ("a giant spider", "a red one", "a cheerful alchemist"):
        resolve_input(job(prompt), CATALOG, {"tti": "sdxl"})
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(job("a giant spider", stand_in=True), CATALOG, {"tti": "sdxl"})
    assert raised.value.field == "input.step_options.tti.stand_in"


def test_the_options_model_carries_the_code_through_the_catalog() -> None:
    with pytest.raises(OptionsInvalid) as raised:
        CATALOG.parse_options("tti", "procedural", job("a dragon"))
    [problem] = raised.value.problems
    assert (problem.code, problem.field) == (UNSUPPORTED_SUBJECT, "input.prompt.concept")
    options = CATALOG.parse_options("tti", "procedural", job("a dragon", stand_in=True))
    assert isinstance(options, ProceduralOptions) and options.stand_in
