"""Property-based fuzzing of the GraphQL API (issue 9): operations generated from the live schema
by hypothesis-graphql (queries and mutations, valid and with one schema violation each), plus
subscriptions over graphql-transport-ws from a hand-written generator (hypothesis-graphql has no
subscriptions), sent with the API keys of two tenants to a gateway process in front of a real
orchestrator. Every answer must be below HTTP 500, and every GraphQL error must carry
`extensions.code` that is not INTERNAL; afterwards the gateway process still serves, and its
resident memory has not grown much.

Deterministic (derandomize, no example database, no shrinking: every finding is listed at once).
Run alone with `pytest -m fuzz`.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from websockets.sync.client import connect

from tests.conftest import fast_settings
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.harness import embedded, job_input

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(300)]
HTTP_OPERATIONS = 1_100
SUBSCRIPTIONS = 120
MAX_RSS_GROWTH = 64 * 2**20
Problems = list[str]
CODES: Counter[str] = Counter()  # error codes seen, for the run's summary line


def _value_node(value: Any) -> graphql.ValueNode:
    if isinstance(value, dict):
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_value_node(v))
                for k, v in value.items()
            ]
        )
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return nodes.String(value)


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_STEPS = st.sampled_from(["tti", "refine", "image3d", "retopo", "rig", "anim", "export", "sketch"])
# stepOptions: a JSON object of step name -> options, as clients send it (hypothesis-graphql cannot
# generate a custom scalar by itself).
_OPTIONS = st.dictionaries(
    st.one_of(_STEPS, _NAMES),
    st.dictionaries(
        _NAMES,
        st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
        max_size=3,
    ),
    max_size=2,
).map(_value_node)
CUSTOM_SCALARS = {"JSON": _OPTIONS, "DateTime": st.datetimes().map(nodes.String)}


def _check_errors(where: str, errors: list[dict[str, Any]] | None, problems: Problems) -> None:
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        CODES[str(code)] += 1
        if not code or code == "INTERNAL":
            problems.append(f"{where}\n  -> {json.dumps(error)[:600]}")


def fuzz_http(
    gateway: GatewayProcess, schema: graphql.GraphQLSchema, keys: list[str]
) -> tuple[int, Problems]:
    """Send HTTP_OPERATIONS generated operations; (how many were sent, what went wrong)."""
    strategy = st.one_of(
        from_schema(schema, custom_scalars=CUSTOM_SCALARS, mode=Mode.POSITIVE),
        from_schema(schema, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE),
    )
    problems: Problems = []
    sent = 0
    with httpx.Client(base_url=gateway.url, timeout=30) as client:

        @settings(
            max_examples=HTTP_OPERATIONS,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(query=strategy, key=st.sampled_from(keys))
        def send(query: str, key: str) -> None:
            nonlocal sent
            sent += 1
            response = client.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
            )
            where = f"HTTP {response.status_code} for {query[:400]!r}"
            if response.status_code >= 500:
                problems.append(f"{where}\n  -> {response.text[:600]}")
                return
            _check_errors(where, response.json().get("errors"), problems)

        send()
    return sent, problems


_EVENT_FIELDS = {
    "JobEvent": ["__typename", "jobId", "sequence", "at", "stepName"],
    "StepQueuedEvent": ["position", "etaSeconds"],
    "StepProgressEvent": ["progress", "message"],
    "StepCompletedEvent": ["outputs { name url sha256 sizeBytes }", "durationSeconds", "cacheHit"],
    "StepPreviewEvent": ["preview { name url }"],
    "StepRetryingEvent": ["attempt", "delaySeconds", "error { code message }"],
    "JobFailedEvent": ["error { code message }"],
    "JobFinishedEvent": ["state", "assetId", "files { name sizeBytes sha256 }", "costUsd"],
}


@st.composite
def subscriptions(draw: st.DrawFn, job_ids: list[str]) -> tuple[str, dict[str, Any]]:
    """A jobEvents subscription: a known, malformed or unknown job id, any Int (or out of range)
    as afterSequence, and a random selection of the event interface and its types."""
    fields = draw(st.lists(st.sampled_from(_EVENT_FIELDS["JobEvent"]), min_size=1, unique=True))
    for kind in draw(st.lists(st.sampled_from(list(_EVENT_FIELDS)[1:]), unique=True, max_size=3)):
        chosen = draw(st.lists(st.sampled_from(_EVENT_FIELDS[kind]), min_size=1, unique=True))
        fields.append(f"... on {kind} {{ {' '.join(chosen)} }}")
    job_id = draw(st.one_of(st.sampled_from(job_ids), st.text(max_size=80), st.just("job_" + "a" * 5000)))
    after = draw(st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(2**31, 2**40), st.just(0)))
    query = (
        "subscription($id: ID!, $after: Int!)"
        f" {{ jobEvents(jobId: $id, afterSequence: $after) {{ {' '.join(fields)} }} }}"
    )
    return query, {"id": job_id, "after": after}


def _subscribe(url: str, key: str, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """One subscription over graphql-transport-ws until `complete` or `error`: its messages."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    messages: list[dict[str, Any]] = []
    with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )
        while True:
            message = json.loads(ws.recv(timeout=20))
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


def fuzz_subscriptions(gateway: GatewayProcess, keys: list[str], job_ids: list[str]) -> tuple[int, Problems]:
    problems: Problems = []
    sent = 0

    @settings(
        max_examples=SUBSCRIPTIONS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation=subscriptions(job_ids), key=st.sampled_from(keys))
    def send(operation: tuple[str, dict[str, Any]], key: str) -> None:
        nonlocal sent
        sent += 1
        query, variables = operation
        where = f"subscription {query!r} with {json.dumps(variables)[:200]}"
        for message in _subscribe(gateway.url, key, query, variables):
            if message["type"] == "error":
                _check_errors(where, message["payload"], problems)
            elif message["type"] == "next":
                _check_errors(where, message["payload"].get("errors"), problems)

    send()
    return sent, problems


def _health(gateway: GatewayProcess, key: str) -> None:
    assert gateway.process.poll() is None, f"the gateway exited:\n{gateway.log()}"
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    me = httpx.post(
        f"{gateway.url}/graphql",
        json={"query": "{ me { role } }"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert me.status_code == 200 and me.json() == {"data": {"me": {"role": "admin"}}}, me.text


def campaign(gateway: GatewayProcess, keys: list[str], job_ids: list[str]) -> tuple[int, Problems]:
    """The whole run, blocking (in a thread: the orchestrator's event loop must stay free)."""
    _health(gateway, keys[0])
    introspection = httpx.post(
        f"{gateway.url}/graphql",
        json={"query": graphql.get_introspection_query()},
        headers={"Authorization": f"Bearer {keys[0]}"},
    ).json()
    schema = graphql.build_client_schema(introspection["data"])
    rss_before = gateway.rss_bytes()
    sent, problems = fuzz_http(gateway, schema, keys)
    streamed, ws_problems = fuzz_subscriptions(gateway, keys, job_ids)
    _health(gateway, keys[0])
    rss_after = gateway.rss_bytes()
    print(
        f"\nfuzzed {sent} HTTP operations and {streamed} subscriptions;"
        f" gateway RSS {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB; error codes {dict(CODES)}"
    )
    assert rss_after - rss_before < MAX_RSS_GROWTH, (rss_before, rss_after)
    return sent + streamed, problems + ws_problems


async def test_generated_operations_get_typed_errors_and_the_gateway_keeps_serving(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assetcore.db'}"
    # Mutations must reach validation, not stop at the rate limiter after the first 20.
    limits = {"key_rate_per_s": 1000, "key_burst": 5000, "tenant_rate_per_s": 1000, "tenant_burst": 5000}
    config = fast_settings(tmp_path / "data", database_url=url, queue_url=url, rate_limits=limits)
    async with embedded(config) as harness:
        keys = [harness.key, await harness.key_for("ten_rival", role="admin")]
        job_ids = []
        for key in keys:
            created = await harness.api.create_job(key, job_input("a fuzzed knight", pipeline="probe_short"))
            job_ids.append(created.job.id)
        await harness.finish(job_ids[0])
        with gateway_process(config, harness.mesh.orchestrator_address) as gateway:
            operations, findings = await asyncio.to_thread(campaign, gateway, keys, job_ids)
    assert not findings, f"{len(findings)} answers without a code or with 5xx:\n" + "\n".join(findings[:20])
    assert operations >= 1_000
