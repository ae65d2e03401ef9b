"""Step options and what a job needs of the deployment are checked at CreateJob, before anything
is queued: through gRPC and through GraphQL, each error names the field, no job is written and
no queue holds a message afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from assetcore.config import Settings
from assetcore.errors import ApiError
from assetcore.steps.catalog import load_catalog
from assetcore.steps.contract import PythonModule
from tests.support.gql import Gql, first_error, gateway_over_mesh
from tests.support.harness import job_input

pytestmark = pytest.mark.timeout(120)

CREATE = """
mutation Create($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id } } }
"""
STEPS = load_catalog().step_names
# (step options or export formats of the job, the field the error names, its code)
CASES = [
    ({"retopo": {"faces": "many"}}, None, "input.step_options.retopo.faces", "INVALID_ARGUMENT"),
    ({"retopo": {"bogus": 1}}, None, "input.step_options.retopo.bogus", "INVALID_ARGUMENT"),
    ({"rig": {"type": "octopus"}}, None, "input.step_options.rig.type", "INVALID_ARGUMENT"),
    ({"retopo": {"face_target": 12.5}}, None, "input.step_options.retopo.face_target", "INVALID_ARGUMENT"),
    ({}, ["glb", "fbx"], "input.export.formats[1]", "FEATURE_UNAVAILABLE"),
]


@pytest.fixture
async def no_blender(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gql]:
    """A deployment whose workers have no Blender: the export worker registers no FBX."""
    real_missing = PythonModule.missing

    def missing(self: PythonModule) -> str | None:
        return f"{self.label} is not installed" if self.module == "bpy" else real_missing(self)

    monkeypatch.setattr(PythonModule, "missing", missing)
    async with gateway_over_mesh(settings) as client:
        yield client


async def _nothing_written_or_queued(g: Gql) -> None:
    assert (await g("{ jobs { nodes { id } } }"))["data"]["jobs"]["nodes"] == []
    for step in STEPS:
        depth = await g.harness.depth(step)
        assert (depth.visible, depth.in_flight, depth.delayed, depth.dead) == (0, 0, 0, 0), step


@pytest.mark.parametrize(("options", "formats", "field", "code"), CASES)
async def test_through_grpc(
    no_blender: Gql, options: dict[str, Any], formats: list[str] | None, field: str, code: str
) -> None:
    h = no_blender.harness
    job = job_input("a knight", step_options=options)
    job.export.formats.extend(formats or [])
    with pytest.raises(ApiError) as raised:
        await h.api.create_job(h.key, job)
    assert (raised.value.code, raised.value.field) == (code, field)
    if code == "FEATURE_UNAVAILABLE":
        assert "Blender (bpy)" in raised.value.message and "fbx" in raised.value.message
    await _nothing_written_or_queued(no_blender)


@pytest.mark.parametrize(("options", "formats", "field", "code"), CASES)
async def test_through_graphql(
    no_blender: Gql, options: dict[str, Any], formats: list[str] | None, field: str, code: str
) -> None:
    given: dict[str, Any] = {"prompt": {"concept": "a knight"}, "stepOptions": options}
    if formats:
        given["export"] = {"formats": formats}
    error = first_error(await no_blender(CREATE, input=given))
    expected_field = field.replace("step_options", "stepOptions")
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, expected_field), error
    await _nothing_written_or_queued(no_blender)


async def test_fbx_is_accepted_where_an_export_worker_has_blender(settings: Settings) -> None:
    settings.backends["export"] = "gltf"  # FBX through Blender, where bpy is installed (the dev install)
    async with gateway_over_mesh(settings) as g:
        given = {"prompt": {"concept": "a knight"}, "export": {"formats": ["glb", "fbx"]}}
        created = await g(CREATE, input=given)
        assert "errors" not in created, created
