"""A deployment whose tti backend is procedural refuses, at CreateJob, a prompt whose subject it
cannot draw: UNSUPPORTED_SUBJECT through gRPC and GraphQL, naming the word, nothing written or
queued. With the stand_in option the job runs and its result carries the warning."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assetcore.config import Settings
from assetcore.errors import UNSUPPORTED_SUBJECT, ApiError
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from tests.support.gql import Gql, first_error, gateway_over_mesh
from tests.support.harness import job_input

pytestmark = pytest.mark.timeout(120)

CREATE = """
mutation Create($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id warnings } } }
"""
JOB = "query Job($id: ID!) { job(id: $id) { state warnings steps { name notes } } }"
STEPS = load_catalog().step_names


@pytest.fixture
async def procedural(settings: Settings) -> AsyncIterator[Gql]:
    """The concept pipeline on its real CPU backends (tti procedural, refine cpu)."""
    settings.backends.update(tti="procedural", refine="cpu")
    async with gateway_over_mesh(settings) as client:
        yield client


async def _nothing_written_or_queued(g: Gql) -> None:
    assert (await g("{ jobs { nodes { id } } }"))["data"]["jobs"]["nodes"] == []
    for step in STEPS:
        depth = await g.harness.depth(step)
        assert (depth.visible, depth.in_flight, depth.delayed, depth.dead) == (0, 0, 0, 0), step


async def test_through_grpc(procedural: Gql) -> None:
    h = procedural.harness
    with pytest.raises(ApiError) as raised:
        await h.api.create_job(h.key, job_input("a giant spider"))
    assert (raised.value.code, raised.value.field) == (UNSUPPORTED_SUBJECT, "input.prompt.concept")
    assert "'spider'" in raised.value.message and "spear" in raised.value.message
    await _nothing_written_or_queued(procedural)


async def test_through_graphql(procedural: Gql) -> None:
    error = first_error(await procedural(CREATE, input={"prompt": {"concept": "a giant spider"}}))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        UNSUPPORTED_SUBJECT,
        "input.prompt.concept",
    )
    assert "'spider'" in error["message"], error
    await _nothing_written_or_queued(procedural)


async def test_a_stand_in_runs_and_its_job_says_so(procedural: Gql) -> None:
    given = {
        "prompt": {"concept": "a giant spider"},
        "pipeline": "concept",
        "stepOptions": {"tti": {"stand_in": True, "size": 256}},
    }
    created = await procedural(CREATE, input=given)
    assert "errors" not in created, created
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    assert created["data"]["createAssetJob"]["job"]["warnings"] == []  # nothing drawn yet
    done = await procedural.harness.finish(job_id)
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED, done.error.message
    job = (await procedural(JOB, id=job_id))["data"]["job"]
    warning = (
        "tti: stand-in: 'spider' is not in the procedural vocabulary; drew a generic object in its place"
    )
    assert job["warnings"] == [warning]
    assert job["steps"][0]["notes"][0] == "warning: " + warning.removeprefix("tti: ")
