"""Issue 9's gateway limits and the defects it found, each against a real gateway (uvicorn on
127.0.0.1) over the embedded mesh and its real gRPC orchestrator."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from graphql import get_introspection_query

from assetcore.errors import ApiError
from tests.conftest import fast_settings
from tests.support.gql import Gql, first_error, gateway_over_mesh

pytestmark = pytest.mark.timeout(120)
CREATE = (
    "mutation($input: CreateAssetJobInput!, $key: String)"
    " { createAssetJob(input: $input, idempotencyKey: $key) { created job { id } } }"
)


def _settings(tmp_path: Path, **limits: Any) -> Any:
    url = f"sqlite:///{tmp_path / 'assetcore.db'}"
    return fast_settings(tmp_path / "data", database_url=url, queue_url=url, gateway_limits=limits)


@pytest.fixture
async def g(tmp_path: Path) -> AsyncIterator[Gql]:
    async with gateway_over_mesh(_settings(tmp_path, max_subscriptions_per_key=1)) as client:
        yield client


def _exchange(url: str, bodies: list[bytes]) -> list[tuple[int, dict[str, Any], tuple[str, int]]]:
    """POST each body on one keep-alive connection: (status, JSON answer, local address) each."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    answers = []
    try:
        for body in bodies:
            conn.request("POST", "/graphql", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answers.append((response.status, json.loads(response.read()), conn.sock.getsockname()))
    finally:
        conn.close()
    return answers


async def test_a_body_that_is_not_an_object_is_a_typed_400_and_the_connection_stays_usable(g: Gql) -> None:
    bodies = [b"42", b"null", b'"str"', b"[]", b'{"query": "{ __typename }"}']
    answers = await asyncio.to_thread(_exchange, g.url, bodies)
    for status, answer, _ in answers[:-1]:
        assert status == 400 and answer["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}, answer
    assert answers[-1][:2] == (200, {"data": {"__typename": "Query"}})
    assert len({address for _, _, address in answers}) == 1, "every request went over the same connection"


async def test_bodies_over_the_limit_are_refused_with_413(g: Gql) -> None:
    big = json.dumps({"query": "{ __typename }", "padding": "x" * 1_100_000}).encode()
    declared = await g.http.post(
        f"{g.url}/graphql", content=big, headers={"Content-Type": "application/json"}
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    chunked = await g.http.post(
        f"{g.url}/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert (await g("{ me { role } }"))["data"]["me"]["role"] == "admin"


@pytest.mark.parametrize(
    "query",
    [
        "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(21)) + " }",  # aliases
        "{ " + " ".join(f"a{i}: jobs(first: 100) {{ nodes {{ id }} }}" for i in range(11)) + " }",  # cost
        "{ me { " + "role " * 2100 + "} }",  # tokens
        "{ jobs { nodes { " + "steps { outputs { " * 6 + "name" + " } }" * 6 + " } } }",  # depth
    ],
    ids=["aliases", "list-cost", "tokens", "depth"],
)
async def test_expensive_operations_are_refused_before_they_run(g: Gql, query: str) -> None:
    error = first_error(await g(query))
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error


async def test_the_list_cost_counts_page_sizes_given_in_variables(g: Gql) -> None:
    pages = " ".join(f"a{i}: jobs(first: $n) {{ nodes {{ id }} }}" for i in range(11))
    query = f"query($n: Int!) {{ {pages} }}"
    assert "errors" not in await g(query, n=10)  # 11 pages of 10
    assert first_error(await g(query, n=100))["extensions"]["code"] == "QUERY_TOO_COMPLEX"  # 11 pages of 100


async def test_introspection_works_until_switched_off(tmp_path: Path, g: Gql) -> None:
    assert "errors" not in await g(get_introspection_query())
    async with gateway_over_mesh(_settings(tmp_path / "off", introspection=False)) as closed:
        error = first_error(await closed("{ __schema { queryType { name } } }"))
        assert error["extensions"]["code"] == "INTROSPECTION_DISABLED"
        assert (await closed("{ me { role } }"))["data"]["me"]["role"] == "admin"


async def test_a_subscription_over_http_is_a_typed_error(g: Gql) -> None:
    error = first_error(await g('subscription { jobEvents(jobId: "job_x") { sequence } }'))
    assert error["extensions"]["code"] == "SUBSCRIPTION_OVER_HTTP"


@pytest.mark.parametrize("length", [3_000, 6_000, 10_000])
async def test_long_ids_are_invalid_and_never_echoed_whole(g: Gql, length: int) -> None:
    long_id = "job_" + "a" * length
    error = first_error(await g("query($id: ID!) { job(id: $id) { id } }", id=long_id))
    assert error["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}
    assert "a" * 65 not in error["message"]
    with pytest.raises(ApiError) as raised:  # the orchestrator, called directly over gRPC
        await g.harness.api.get_job(g.key, long_id)
    assert raised.value.code == "INVALID_ARGUMENT" and raised.value.field == "job_id"
    assert "a" * 65 not in raised.value.message
    error = first_error(await g('{ jobs(filter: {states: ["' + "z" * length + '"]}) { nodes { id } } }'))
    assert error["extensions"]["code"] == "INVALID_ARGUMENT" and "z" * 65 not in error["message"]


async def test_open_subscriptions_per_key_are_limited(g: Gql) -> None:
    created = await g(
        CREATE,
        input={"prompt": {"concept": "slow"}, "pipeline": "probe", "stepOptions": {"sketch": {"sleep_s": 3}}},
    )
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    events = gql("subscription($id: ID!) { jobEvents(jobId: $id) { sequence } }")
    async with g.ws() as first:
        stream = first.subscribe(GraphQLRequest(events, variable_values={"id": job_id}))
        await stream.__anext__()  # the first subscription holds the key's only slot
        with pytest.raises(TransportQueryError) as raised:
            async with g.ws() as second:
                async for _ in second.subscribe(GraphQLRequest(events, variable_values={"id": job_id})):
                    pass
        assert raised.value.errors is not None
        assert raised.value.errors[0]["extensions"]["code"] == "QUOTA_EXCEEDED"
        await stream.aclose()
    await g("mutation($id: ID!) { cancelJob(id: $id) { state } }", id=job_id)


async def test_idempotency_keys_are_scoped_per_project(g: Gql) -> None:
    me = (await g("{ me { tenantId } }"))["data"]["me"]
    other_project = await g.harness.key_for(me["tenantId"], "other", "editor")
    job = {"prompt": {"concept": "once"}, "pipeline": "concept"}
    first = (await g(CREATE, input=job, key="k1"))["data"]["createAssetJob"]
    again = (await g(CREATE, input=job, key="k1"))["data"]["createAssetJob"]
    elsewhere = (await g(CREATE, api_key=other_project, input=job, key="k1"))["data"]["createAssetJob"]
    assert first["created"] and not again["created"] and again["job"]["id"] == first["job"]["id"]
    assert elsewhere["created"] and elsewhere["job"]["id"] != first["job"]["id"]
