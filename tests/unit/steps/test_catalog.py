"""The catalog: declarations found, checked against each other, and what derives from them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assetcore.config import Settings
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import (
    CatalogError,
    NoPipeline,
    OptionsInvalid,
    UnknownStep,
    build_catalog,
    catalog_for,
    load_catalog,
)
from assetcore.steps.contract import NOOP, BackendSpec, StepDefinition
from assetcore.steps.pipeline import Pipeline, StepSpec, chain

STANDARD_STEPS = ("tti", "refine", "image3d", "retopo", "rig", "anim", "export")


def _step(name: str, consumes: tuple[str, ...] = (), produces: tuple[str, ...] = ("x",)) -> StepDefinition:
    return StepDefinition(
        name=name,
        description=name,
        consumes=consumes,
        produces=produces,
        backends={},
        default_backend=NOOP,
    )


def test_installed_steps_and_pipelines_in_pipeline_order() -> None:
    catalog = load_catalog()
    assert catalog.step_names == (*STANDARD_STEPS, "multiview")
    multiview = ["character_multiview", "prop_multiview"]
    assert list(catalog.pipelines) == ["character", "prop", *multiview, "concept"]
    assert catalog.pipeline_for(job_pb2.ASSET_TYPE_PROP) is catalog.pipelines["prop"]


def test_opt_in_steps_run_only_where_configured() -> None:
    """multiview has no backend without model weights: a default deployment leaves it (and the
    pipelines that need it) out; configuring its backend brings both in."""
    default = catalog_for(Settings())
    assert default.step_names == STANDARD_STEPS
    assert list(default.pipelines) == ["character", "prop", "concept"]
    configured = catalog_for(Settings(backends={"multiview": "zero123pp"}))
    assert "multiview" in configured.steps and "prop_multiview" in configured.pipelines


def test_the_pipeline_of_a_job() -> None:
    catalog = load_catalog()
    prop = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a wooden barrel"))
    assert catalog.pipeline_of(prop).name == "prop"
    knight = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))
    assert catalog.pipeline_of(knight).name == "character"
    named = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"), pipeline="prop_multiview")
    assert catalog.pipeline_of(named).step_names[2] == "multiview"
    with pytest.raises(NoPipeline, match="unknown pipeline 'nope'") as error:
        catalog.pipeline_of(job_pb2.JobInput(pipeline="nope"))
    assert error.value.field == "input.pipeline"


def test_plugins_add_steps_and_pipelines_and_a_deployment_may_run_fewer() -> None:
    settings = Settings(plugins=["assetcore.steps.probe"])
    catalog = catalog_for(settings)
    assert {"sketch", "pack", *STANDARD_STEPS} <= set(catalog.steps)
    assert {"probe", "probe_short", "character"} <= set(catalog.pipelines)
    only = catalog_for(Settings(plugins=["assetcore.steps.probe"], steps=["sketch", "touchup"]))
    assert only.step_names == ("sketch", "touchup") and list(only.pipelines) == ["probe_short"]
    with pytest.raises(UnknownStep, match="'nope'"):
        catalog_for(Settings(steps=["tti", "nope"]))


def test_gate_aliases_and_library_suffixes_come_from_the_steps() -> None:
    catalog = load_catalog()
    character = catalog.pipelines["character"]
    assert catalog.resolve_gate(character, "concept") == "tti"
    assert catalog.resolve_gate(character, "mesh") == "image3d"
    assert catalog.resolve_gate(character, "animation") == "anim"
    assert catalog.resolve_gate(catalog.pipelines["prop"], "animation") is None
    assert catalog.file_suffix("lod1_glb") == "_lod1.glb"
    assert catalog.file_suffix("image") == "_concept.png"
    assert catalog.file_suffix("unheard_of") is None


@pytest.mark.parametrize(
    ("steps", "pipelines", "problem"),
    [
        ([_step("a")], [Pipeline("p", "", job_pb2.ASSET_TYPE_PROP, chain("a", "b"))], "unknown step 'b'"),
        (
            [_step("a"), _step("b")],
            [Pipeline("p", "", job_pb2.ASSET_TYPE_PROP, (StepSpec("a", ("b",)), StepSpec("b", ())))],
            "do not come before it",
        ),
        ([_step("a")], [Pipeline("p", "", job_pb2.ASSET_TYPE_PROP, chain("a", "a"))], "appears twice"),
        ([replace(_step("a"), default_backend="gpu")], [], "default backend 'gpu'"),
        ([replace(_step("a"), required_inputs=("y",))], [], "required inputs"),
        ([_step("a"), replace(_step("a"), description="other")], [], "declared twice"),
    ],
)
def test_contradicting_declarations_are_refused(
    steps: list[StepDefinition], pipelines: list[Pipeline], problem: str
) -> None:
    with pytest.raises(CatalogError, match=problem):
        build_catalog(steps, pipelines)


def test_options_name_the_full_field_path() -> None:
    catalog = load_catalog()
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))
    cases = {
        ("retopo", "decimate", "faces"): ({"faces": "many"}, "input.step_options.retopo.faces"),
        ("retopo", "decimate", "bogus"): ({"bogus": 1.0}, "input.step_options.retopo.bogus"),
        ("rig", "cpu", "type"): ({"type": "octopus"}, "input.step_options.rig.type"),
        ("retopo", "decimate", "range"): ({"face_target": 5.0}, "input.step_options.retopo.face_target"),
    }
    for (step, backend, _), (params, field) in cases.items():
        with pytest.raises(OptionsInvalid) as caught:
            catalog.parse_options(step, backend, job, params)
        assert caught.value.problems[0].field == field
    bad_fps = job_pb2.JobInput(prompt=job.prompt, animation=job_pb2.AnimationOptions(fps=500))
    with pytest.raises(OptionsInvalid) as caught:
        catalog.parse_options("anim", "procedural", bad_fps, {})
    assert caught.value.problems[0].field == "input.animation.fps"


def test_a_backend_adds_its_own_options_to_the_steps() -> None:
    catalog = load_catalog()
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))
    options = catalog.parse_options("tti", NOOP, job, {"size": 512.0, "sleep_s": 0.5})
    assert (options.size, options.sleep_s) == (512, 0.5)
    with pytest.raises(OptionsInvalid, match="sleep_s"):
        catalog.parse_options("tti", "procedural", job, {"sleep_s": 0.5})


def test_unknown_backend_names_the_known_ones() -> None:
    tti = load_catalog().step("tti")
    with pytest.raises(LookupError, match="known: noop, procedural"):
        tti.backend("dalle")


def test_backend_requirements_and_features() -> None:
    spec = BackendSpec("x:Y", features=())
    assert spec.available_features() == ()
    export = load_catalog().step("export")
    assert {f.name for f in export.backends["gltf"].features} == {"glb", "draco", "ktx2", "fbx"}
