"""Job input resolution: defaults made explicit, every error names its field."""

from __future__ import annotations

import pytest

from assetcore.errors import InvalidArgument
from assetcore.proto.v1 import job_pb2
from services.anim.clips import HUMANOID_CLIPS, QUADRUPED_CLIPS
from services.orchestrator.pipelines import PIPELINES, resolve_gate
from services.orchestrator.validation import CLIPS, check_safety, resolve_input


def job(prompt: str = "a knight", **fields: object) -> job_pb2.JobInput:
    message = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt))
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def test_the_orchestrators_clip_vocabulary_mirrors_the_anim_step() -> None:
    assert tuple(CLIPS[job_pb2.RIG_TYPE_HUMANOID]) == tuple(HUMANOID_CLIPS)
    assert tuple(CLIPS[job_pb2.RIG_TYPE_QUADRUPED]) == tuple(QUADRUPED_CLIPS)


@pytest.mark.parametrize(
    ("prompt", "pipeline", "rig"),
    [
        ("a knight in red armor with a round shield", "character", job_pb2.RIG_TYPE_HUMANOID),
        ("a grey wolf", "character", job_pb2.RIG_TYPE_QUADRUPED),
        ("a wooden treasure chest", "prop", job_pb2.RIG_TYPE_STATIC),
    ],
)
def test_asset_type_and_rig_are_inferred_from_the_prompt(prompt: str, pipeline: str, rig: int) -> None:
    resolved, chosen, _ = resolve_input(job(prompt))
    assert chosen.name == pipeline and resolved.pipeline == pipeline
    assert resolved.constraints.rig_type == rig


def test_explicit_choices_win_and_defaults_are_filled() -> None:
    given = job("a grey wolf", pipeline="concept", seed=42, name="  Wolfie  ")
    resolved, pipeline, gates = resolve_input(given)
    assert (pipeline.name, resolved.seed, resolved.name, gates) == ("concept", 42, "Wolfie", [])
    assert resolved.asset_type == job_pb2.ASSET_TYPE_CONCEPT
    assert list(resolved.export.formats) == [], "the concept pipeline exports no model"
    character, _, _ = resolve_input(job("a knight"))
    assert list(character.export.formats) == ["glb"] and character.animation.fps == 30
    assert character.priority == job_pb2.PRIORITY_NORMAL


def test_gate_aliases() -> None:
    character = PIPELINES["character"]
    assert resolve_gate(character, "image") == "tti"
    assert resolve_gate(character, "mesh") == "image3d"
    assert resolve_gate(character, "rig") == "rig"
    assert resolve_gate(PIPELINES["prop"], "rig") is None
    assert character.ancestors("export") == ["anim", "rig", "retopo", "image3d", "refine", "tti"]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (job("   "), "input.prompt.concept"),
        (job("a", negative_prompt="x" * 4097), "input.negative_prompt"),
        (job("a knight", upscale=True, name="n" * 201), "input.name"),
        (
            job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight", style="s" * 3000, details="d" * 1200)),
            "input.prompt",
        ),
        (job("a knight", asset_type=9), "input.asset_type"),
        (job("a knight", priority=7), "input.priority"),
        (job("a knight", tags=["ok", "Bad!Tag"]), "input.tags[1]"),
    ],
)
def test_input_errors_name_the_field(given: job_pb2.JobInput, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(given)
    assert raised.value.field == field


def test_rig_type_must_fit_the_pipeline() -> None:
    prop = job("a wooden treasure chest")
    prop.constraints.rig_type = job_pb2.RIG_TYPE_HUMANOID
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(prop)
    assert raised.value.field == "input.constraints.rig_type"
    knight = job("a knight")
    knight.constraints.rig_type = job_pb2.RIG_TYPE_STATIC
    with pytest.raises(InvalidArgument):
        resolve_input(knight)


def test_step_options_must_name_steps_of_the_pipeline() -> None:
    given = job("a wooden treasure chest")
    given.step_options["rig"].update({"resolution": 64})
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(given)
    assert raised.value.field == "input.step_options"


def test_safety_policy_refuses_blocked_terms() -> None:
    resolved, _, _ = resolve_input(job("a knight with a forbidden banner"))
    check_safety(resolved, ["gore"])
    with pytest.raises(InvalidArgument) as raised:
        check_safety(resolved, ["Forbidden"])
    assert raised.value.code == "PROMPT_REJECTED" and raised.value.field == "input.prompt.concept"
