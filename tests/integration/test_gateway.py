"""The GraphQL gateway on a real uvicorn server, over the embedded mesh (jobs on the probe pipelines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError

from assetcore.config import Settings
from assetcore.steps.catalog import load_catalog
from gateway.schema import SDL_PATH, export_sdl
from tests.conftest import PROBE
from tests.support.gql import Gql, first_error, gateway_over_mesh

pytestmark = pytest.mark.timeout(120)
PROBE_STEPS = list(load_catalog((PROBE,)).pipelines["probe"].step_names)

CREATE = """
mutation Create($input: CreateAssetJobInput!, $key: String) {
  createAssetJob(input: $input, idempotencyKey: $key) {
    created
    job { id state pipeline steps { name state } }
  }
}
"""
EVENTS = gql(
    """
subscription Events($id: ID!) {
  jobEvents(jobId: $id) {
    __typename sequence stepName
    ... on StepQueuedEvent { position etaSeconds }
    ... on StepProgressEvent { progress }
    ... on StepCompletedEvent { outputs { name url } }
    ... on JobFinishedEvent { state assetId files { name url sha256 } }
  }
}
"""
)


@pytest.fixture
async def g(settings: Settings) -> AsyncIterator[Gql]:
    async with gateway_over_mesh(settings) as client:
        yield client


async def test_job_through_graphql_with_live_events_and_downloads(g: Gql) -> None:
    created = await g(CREATE, input={"prompt": {"concept": "a knight"}, "pipeline": "probe"})
    job = created["data"]["createAssetJob"]["job"]
    assert job["pipeline"] == "probe" and len(job["steps"]) == len(PROBE_STEPS)
    seen = []
    async with g.ws() as session:
        async for event in session.subscribe(GraphQLRequest(EVENTS, variable_values={"id": job["id"]})):
            seen.append(event["jobEvents"])
    kinds = [(e["stepName"], e["__typename"]) for e in seen]
    for step in PROBE_STEPS:
        mine = [k for s, k in kinds if s == step]
        assert mine[0] == "StepQueuedEvent" and mine[1] == "StepStartedEvent"
        assert "StepProgressEvent" in mine and mine[-1] == "StepCompletedEvent"
    assert [e["sequence"] for e in seen] == sorted(e["sequence"] for e in seen)
    finished = seen[-1]
    assert finished["__typename"] == "JobFinishedEvent" and finished["state"] == "SUCCEEDED"
    for file in finished["files"]:
        download = await g.http.get(file["url"])
        assert download.status_code == 200
        import hashlib

        assert hashlib.sha256(download.content).hexdigest() == file["sha256"]
    tampered = finished["files"][0]["url"].replace("sig=", "sig=0")
    assert (await g.http.get(tampered)).status_code == 404

    result = await g(
        "query($id: ID!) { job(id: $id) { state assetId assetVersion costUsd"
        " steps { name state backend } } }",
        id=job["id"],
    )
    assert result["data"]["job"]["state"] == "SUCCEEDED" and result["data"]["job"]["assetVersion"] == 1
    asset = await g(
        "query($id: ID!) { asset(id: $id) { name latestVersion"
        " versions { version files { name url } lineage { stepName backend } } } }",
        id=result["data"]["job"]["assetId"],
    )
    assert asset["data"]["asset"]["latestVersion"] == 1
    assert {e["stepName"] for e in asset["data"]["asset"]["versions"][0]["lineage"]} == set(PROBE_STEPS)


async def test_queries(g: Gql) -> None:
    me = await g("{ me { tenantId projectId role } }")
    assert me["data"]["me"]["role"] == "admin"
    pipelines = await g(
        "{ pipelines { name steps { name dependsOn maxAttempts backend optionsSchema consumes produces } } }"
    )
    by_name = {p["name"]: p for p in pipelines["data"]["pipelines"]}
    assert {"character", "prop", "concept", "probe"} <= set(by_name)
    retopo = next(s for s in by_name["character"]["steps"] if s["name"] == "retopo")
    assert retopo["backend"] == "noop" and retopo["consumes"] == ["mesh"]
    assert {"face_target", "symmetry", "texture_size", "sleep_s"} <= set(
        retopo["optionsSchema"]["properties"]
    )
    assert retopo["optionsSchema"]["additionalProperties"] is False
    ids = []
    for i in range(3):
        created = await g(
            CREATE, input={"prompt": {"concept": f"castle {i}"}, "pipeline": "probe_short", "tags": ["keep"]}
        )
        ids.append(created["data"]["createAssetJob"]["job"]["id"])
    for job_id in ids:
        await g.harness.finish(job_id)
    page = await g("{ jobs(first: 2) { nodes { id } pageInfo { hasNextPage endCursor } } }")
    jobs = page["data"]["jobs"]
    assert [n["id"] for n in jobs["nodes"]] == ids[::-1][:2] and jobs["pageInfo"]["hasNextPage"]
    rest = await g(
        'query($after: String) { jobs(first: 5, after: $after, filter: {states: ["succeeded"],'
        ' pipeline: "probe_short"}) { nodes { id } pageInfo { hasNextPage } } }',
        after=jobs["pageInfo"]["endCursor"],
    )
    assert [n["id"] for n in rest["data"]["jobs"]["nodes"]] == [ids[0]]
    found = await g('{ assets(search: "castle 1") { nodes { name tags } } }')
    assert [a["name"] for a in found["data"]["assets"]["nodes"]] == ["castle 1"]
    tagged = await g('{ assets(tags: ["keep"]) { nodes { name } } }')
    assert len(tagged["data"]["assets"]["nodes"]) == 3


async def test_mutations_cancel_retry_review(g: Gql) -> None:
    created = await g(
        CREATE,
        input={"prompt": {"concept": "a gated knight"}, "pipeline": "probe", "reviewGates": ["sketch"]},
    )
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    await g.harness.events(job_id)
    review = (
        "mutation($id: ID!, $d: ReviewDecision!) "
        '{ reviewStep(jobId: $id, step: "sketch", decision: $d, notes: "ok") { state } }'
    )
    approved = await g(review, id=job_id, d="APPROVE")
    assert approved["data"]["reviewStep"]["state"] in ("QUEUED", "RUNNING")
    assert (await g.harness.finish(job_id)).asset_version == 1
    again = await g(review, id=job_id, d="APPROVE")
    assert first_error(again)["extensions"]["code"] == "FAILED_PRECONDITION"

    slow = await g(
        CREATE,
        input={
            "prompt": {"concept": "a slow knight"},
            "pipeline": "probe",
            "stepOptions": {"sketch": {"sleep_s": 2, "ticks": 40}},
        },
    )
    slow_id = slow["data"]["createAssetJob"]["job"]["id"]
    cancelled = await g("mutation($id: ID!) { cancelJob(id: $id) { state } }", id=slow_id)
    assert cancelled["data"]["cancelJob"]["state"] == "CANCELLED"
    retried = await g("mutation($id: ID!) { retryJob(id: $id) { state } }", id=slow_id)
    assert retried["data"]["retryJob"]["state"] in ("QUEUED", "RUNNING")
    assert (await g.harness.finish(slow_id)).asset_version == 1


async def test_idempotency_key(g: Gql) -> None:
    first = await g(CREATE, input={"prompt": {"concept": "once"}, "pipeline": "concept"}, key="abc")
    second = await g(CREATE, input={"prompt": {"concept": "once"}, "pipeline": "concept"}, key="abc")
    assert first["data"]["createAssetJob"]["created"] and not second["data"]["createAssetJob"]["created"]
    assert first["data"]["createAssetJob"]["job"]["id"] == second["data"]["createAssetJob"]["job"]["id"]


BAD_INPUTS = [
    ({"prompt": {"concept": ""}}, "input.prompt.concept"),
    ({"prompt": {"concept": "x" * 4097}}, "input.prompt.concept"),
    ({"prompt": {"concept": "a knight"}, "pipeline": "spaceship"}, "input.pipeline"),
    ({"prompt": {"concept": "a knight"}, "constraints": {"polyBudget": 0}}, "input.constraints.polyBudget"),
    (
        {"prompt": {"concept": "a knight"}, "constraints": {"polyBudget": 10**9}},
        "input.constraints.polyBudget",
    ),
    ({"prompt": {"concept": "a knight"}, "seed": -5}, "input.seed"),
    ({"prompt": {"concept": "a knight"}, "seed": 2**31}, "input.seed"),
    ({"prompt": {"concept": "a knight"}, "export": {"formats": ["glb", "obj"]}}, "input.export.formats[1]"),
    (
        {"prompt": {"concept": "a knight"}, "constraints": {"platform": "GAMEBOY"}},
        "input.constraints.platform",
    ),
    ({"prompt": {"concept": "a knight"}, "assetId": "ast_bad"}, "input.assetId"),
]


@pytest.mark.parametrize(("job_input", "field"), BAD_INPUTS)
async def test_bad_input_is_a_typed_error_naming_the_field(
    g: Gql, job_input: dict[str, Any], field: str
) -> None:
    error = first_error(await g(CREATE, input=job_input))
    assert error["extensions"]["code"] in ("INVALID_ARGUMENT", "BAD_USER_INPUT")
    assert error["extensions"]["field"] == field, error
    assert (await g("{ jobs { nodes { id } } }"))["data"]["jobs"]["nodes"] == []
    assert (await g.harness.depth("tti")).visible == 0
    assert "me" in (await g("{ me { role } }"))["data"], "the server keeps serving"


async def test_malformed_ids_and_other_tenants(g: Gql) -> None:
    error = first_error(await g('{ job(id: "../../etc/passwd") { id } }'))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}
    error = first_error(await g('mutation { cancelJob(id: "job_xyz") { id } }'))
    assert error["extensions"]["field"] == "id"
    created = await g(CREATE, input={"prompt": {"concept": "mine"}, "pipeline": "concept"})
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    done = await g.harness.finish(job_id)
    rival = await g.harness.key_for("rival")
    for query, variables in [
        ("query($id: ID!) { job(id: $id) { id } }", {"id": job_id}),
        ("mutation($id: ID!) { cancelJob(id: $id) { id } }", {"id": job_id}),
        ("query($id: ID!) { asset(id: $id) { id } }", {"id": done.asset_id}),
    ]:
        error = first_error(await g(query, api_key=rival, **variables))
        assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await g("{ jobs { nodes { id } } }", api_key=rival))["data"]["jobs"]["nodes"] == []
    assert (await g("{ assets { nodes { id } } }", api_key=rival))["data"]["assets"]["nodes"] == []
    with pytest.raises(Exception, match="not found"):
        async with g.ws(rival) as session:
            async for _ in session.subscribe(GraphQLRequest(EVENTS, variable_values={"id": job_id})):
                pass


async def test_requests_without_a_valid_key_are_unauthenticated(g: Gql) -> None:
    for key in ("", "ac_wrong"):
        response = await g.http.post(
            f"{g.url}/graphql",
            json={"query": "{ me { role } }"},
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphiql_health_and_sdl(g: Gql) -> None:
    page = await g.http.get(f"{g.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (await g.http.get(f"{g.url}/healthz")).json() == {"status": "ok"}
    assert (await g.http.get(f"{g.url}/files/t/x/cas/ab/abc.png?exp=1&sig=00")).status_code == 404
    assert SDL_PATH.read_text() == export_sdl(), (
        "gateway/schema.graphql is stale: run python -m gateway.schema"
    )


async def test_subscription_client_can_resume(g: Gql) -> None:
    created = await g(CREATE, input={"prompt": {"concept": "resume"}, "pipeline": "concept"})
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    await g.harness.finish(job_id)
    query = gql("subscription($id: ID!) { jobEvents(jobId: $id, afterSequence: 3) { sequence } }")
    async with g.ws() as session:
        seqs = [
            e["jobEvents"]["sequence"]
            async for e in session.subscribe(GraphQLRequest(query, variable_values={"id": job_id}))
        ]
    assert seqs and seqs[0] == 4
    await asyncio.sleep(0)


async def test_errors_name_the_argument_the_client_wrote(g: Gql) -> None:
    """The ErrorMapping extension: orchestrator fields in this API's names, on every operation type."""
    error = first_error(await g('{ mine: job(id: "job_nope") { id } }'))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"} and error["path"] == ["mine"]
    error = first_error(await g("{ jobs(first: 500) { nodes { id } } }"))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "first"}
    error = first_error(await g('{ assets(after: "bad") { nodes { id } } }'))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "after"}
    error = first_error(await g('{ jobs(filter: {states: ["done"]}) { nodes { id } } }'))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "filter.states[0]"}
    huge = "job_" + "x" * 100_000
    error = first_error(await g("query($id: ID!) { job(id: $id) { id } }", id=huge))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}
    assert len(error["message"].encode()) <= 400, "the orchestrator's message stays bounded"

    for job_id, after, field in [("job_nope", 0, "jobId"), ("job_nope", -1, "afterSequence")]:
        query = gql(
            "subscription($id: ID!, $after: Int!)"
            " { jobEvents(jobId: $id, afterSequence: $after) { sequence } }"
        )
        with pytest.raises(TransportQueryError) as raised:
            async with g.ws() as session:
                request = GraphQLRequest(query, variable_values={"id": job_id, "after": after})
                async for _ in session.subscribe(request):
                    pass
        assert raised.value.errors is not None
        assert raised.value.errors[0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": field}
    response = await g.http.post(f"{g.url}/graphql", json={"query": "{ me { role } }"})
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
