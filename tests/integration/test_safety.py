"""Content safety end to end: a prompt the policy refuses is SAFETY_REJECTED at CreateJob through
gRPC and GraphQL, naming the category and field, with nothing written or queued; an image the
classifier flags fails its job with SAFETY_REJECTED, is not retried, and is not published."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assetcore.config import Settings, get_settings
from assetcore.errors import SAFETY_REJECTED, ApiError
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from tests.support.gql import Gql, first_error, gateway_over_mesh
from tests.support.harness import job_input

pytestmark = pytest.mark.timeout(120)

CREATE = "mutation Create($input: CreateAssetJobInput!) { createAssetJob(input: $input) { job { id } } }"
BYPASS = "a n.u.d.3 elf"


@pytest.fixture
async def concept(settings: Settings) -> AsyncIterator[Gql]:
    """The concept pipeline on its real CPU backends (tti procedural, refine cpu)."""
    settings.backends.update(tti="procedural", refine="cpu")
    async with gateway_over_mesh(settings) as client:
        yield client


async def _nothing_written_or_queued(g: Gql) -> None:
    assert (await g("{ jobs { nodes { id } } }"))["data"]["jobs"]["nodes"] == []
    for step in load_catalog().step_names:
        depth = await g.harness.depth(step)
        assert (depth.visible, depth.in_flight, depth.delayed, depth.dead) == (0, 0, 0, 0), step


async def test_a_refused_prompt_through_grpc_and_graphql(concept: Gql) -> None:
    h = concept.harness
    with pytest.raises(ApiError) as raised:
        await h.api.create_job(h.key, job_input(BYPASS))
    assert (raised.value.code, raised.value.field) == (SAFETY_REJECTED, "input.prompt.concept")
    assert "sexual content" in raised.value.message and "nud" not in raised.value.message
    error = first_error(await concept(CREATE, input={"prompt": {"concept": "a kukluxklan robe"}}))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        SAFETY_REJECTED,
        "input.prompt.concept",
    )
    assert "hate symbols" in error["message"] and "klan" not in error["message"].lower(), error
    await _nothing_written_or_queued(concept)


async def test_a_flagged_image_fails_its_job(concept: Gql, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers read ASSETCORE_SAFETY__*: a threshold this low makes the classifier flag any image."""
    monkeypatch.setenv("ASSETCORE_SAFETY__IMAGE_THRESHOLD", "0.00001")
    get_settings.cache_clear()
    try:
        job = await concept.harness.create(
            "a knight", pipeline="concept", step_options={"tti": {"size": 256}}
        )
        done = await concept.harness.finish(job.id)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert done.state == job_pb2.JOB_STATE_FAILED
    assert done.error.code == SAFETY_REJECTED, done.error
    tti = next(s for s in done.steps if s.name == "tti")
    assert (tti.state, tti.attempt, tti.error.code) == (job_pb2.STEP_STATE_FAILED, 1, SAFETY_REJECTED)
    assert "flagged 'image'" in tti.error.message
    assert list(tti.outputs) == [] and not tti.preview.blob_key
    assert all(not s.outputs for s in done.steps)
