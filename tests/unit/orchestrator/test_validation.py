"""Job input resolution: defaults made explicit, every error names its field."""

from __future__ import annotations

import pytest

from assetcore.errors import FailedPrecondition, InvalidArgument
from assetcore.proto.v1 import job_pb2
from assetcore.safety.policy import PromptPolicy, default_table
from assetcore.steps.catalog import load_catalog
from services.anim.vocabulary import HUMANOID_CLIPS, QUADRUPED_CLIPS
from services.orchestrator.validation import Offer, check_safety
from services.orchestrator.validation import resolve_input as resolve

CATALOG = load_catalog()


def job(prompt: str = "a knight", **fields: object) -> job_pb2.JobInput:
    message = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt))
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def resolve_input(
    given: job_pb2.JobInput, offers: dict[str, Offer] | None = None
) -> tuple[job_pb2.JobInput, object, list[str]]:
    resolved, pipeline, gates = resolve(given, CATALOG, {}, offers or {})
    return resolved, pipeline, gates


def test_the_anim_steps_vocabulary_fills_the_default_clips() -> None:
    knight, _, _ = resolve_input(job("a knight"))
    wolf, _, _ = resolve_input(job("a grey wolf"))
    assert tuple(knight.animation.clips) == HUMANOID_CLIPS
    assert tuple(wolf.animation.clips) == QUADRUPED_CLIPS


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
    character = CATALOG.pipelines["character"]
    assert CATALOG.resolve_gate(character, "image") == "tti"
    assert CATALOG.resolve_gate(character, "mesh") == "image3d"
    assert CATALOG.resolve_gate(character, "rig") == "rig"
    assert CATALOG.resolve_gate(CATALOG.pipelines["prop"], "rig") is None
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
    assert raised.value.field == "input.step_options.rig"


@pytest.mark.parametrize(
    ("step", "options", "field"),
    [
        ("retopo", {"faces": "many"}, "input.step_options.retopo.faces"),
        ("retopo", {"bogus": 1}, "input.step_options.retopo.bogus"),
        ("retopo", {"face_target": 50}, "input.step_options.retopo.face_target"),
        ("rig", {"type": "octopus"}, "input.step_options.rig.type"),
        ("tti", {"size": 300.5}, "input.step_options.tti.size"),
        ("export", {"end_joints": "maybe"}, "input.step_options.export.end_joints"),
    ],
)
def test_step_options_are_checked_by_the_steps_model(
    step: str, options: dict[str, object], field: str
) -> None:
    given = job("a knight")
    given.step_options[step].update(options)
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(given)
    assert raised.value.field == field


def test_job_fields_a_step_reads_are_checked_by_the_step() -> None:
    bad_clip = job("a grey wolf")
    bad_clip.animation.clips.extend(["walk", "wave"])
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(bad_clip)
    assert raised.value.field == "input.animation.clips[1]" and "wave" in raised.value.message
    bad_format = job("a knight")
    bad_format.export.formats.extend(["glb", "obj"])
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(bad_format)
    assert raised.value.field == "input.export.formats[1]"


def test_a_job_needing_what_no_worker_offers_is_refused() -> None:
    fbx = job("a knight")
    fbx.export.formats.extend(["glb", "fbx"])
    without_blender = {"export": Offer(("gltf",), frozenset({"glb", "draco"}))}
    with pytest.raises(FailedPrecondition) as raised:
        resolve_input(fbx, without_blender)
    assert raised.value.code == "FEATURE_UNAVAILABLE" and raised.value.field == "input.export.formats[1]"
    assert "Blender (bpy)" in raised.value.message
    with_blender = {"export": Offer(("gltf",), frozenset({"glb", "draco", "fbx"}))}
    assert list(resolve_input(fbx, with_blender)[0].export.formats) == ["glb", "fbx"]
    assert resolve_input(fbx, {})[0].export.formats, "a step no worker registered for is not checked"


def test_safety_policy_refuses_blocked_terms() -> None:
    resolved, _, _ = resolve_input(job("a knight with a forbidden banner"))
    check_safety(resolved, PromptPolicy(default_table(), deployment_deny_terms=["gore"]))
    with pytest.raises(InvalidArgument) as raised:
        check_safety(resolved, PromptPolicy(default_table(), deployment_deny_terms=["Forbidden"]))
    assert raised.value.code == "SAFETY_REJECTED" and raised.value.field == "input.prompt.concept"
