"""Issue 9's abuse cases not covered by test_gateway_limits.py, at the sizes the issue found them:
a 10 MB body against a gateway process (its memory watched), 200 aliases of jobs(first: 100) and
2,000 aliases of me, expired and foreign signed file URLs, and a mutation flood from one key
while another tenant's jobs keep flowing (queue waits: docs/performance.md, "Mutation floods")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from assetcore.blobs.signing import UrlSigner
from tests.conftest import fast_settings
from tests.support.flood import CREATE, FloodResult, flood, steady_jobs
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.gql import Gql, first_error, gateway_over_mesh
from tests.support.harness import embedded

pytestmark = pytest.mark.timeout(120)
FINISHED = (
    "query($id: ID!) { job(id: $id) { assetId } }",
    "query($id: ID!) { asset(id: $id) { versions { files { name url } } } }",
)


@pytest.fixture
async def g(tmp_path: Path) -> AsyncIterator[Gql]:
    url = f"sqlite:///{tmp_path / 'assetcore.db'}"
    async with gateway_over_mesh(fast_settings(tmp_path / "data", database_url=url, queue_url=url)) as client:
        yield client


def _ten_megabytes(gateway: GatewayProcess, key: str) -> tuple[httpx.Response, int, int]:
    body = b'{"query": "{ me { role } }", "padding": "' + b"x" * 10_000_000 + b'"}'
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    before = gateway.rss_bytes()
    with httpx.Client(timeout=30) as client:
        response = client.post(f"{gateway.url}/graphql", content=body, headers=headers)
        after = gateway.rss_bytes()
        me = client.post(f"{gateway.url}/graphql", json={"query": "{ me { role } }"}, headers=headers)
    assert me.json() == {"data": {"me": {"role": "admin"}}}, me.text
    return response, before, after


async def test_a_10_mb_body_is_refused_unread_by_the_gateway_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assetcore.db'}"
    settings = fast_settings(tmp_path / "data", database_url=url, queue_url=url)
    async with embedded(settings) as harness:
        with gateway_process(settings, harness.mesh.orchestrator_address) as gateway:
            response, before, after = await asyncio.to_thread(_ten_megabytes, gateway, harness.key)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert after - before < 8 * 2**20, f"RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    "query",
    [
        "{ " + " ".join(f"a{i}: jobs(first: 100) {{ nodes {{ id }} }}" for i in range(200)) + " }",
        "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(2_000)) + " }",
    ],
    ids=["200-aliases-of-jobs-first-100", "2000-aliases-of-me"],
)
async def test_the_issues_alias_bombs_are_refused_quickly_and_typed(g: Gql, query: str) -> None:
    started = time.perf_counter()
    answer = await g(query)
    elapsed = time.perf_counter() - started
    assert answer.get("data") is None and first_error(answer)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert len(answer["errors"]) <= 5, "one error per broken limit, not one per alias"
    print(f"\nrefused in {elapsed * 1000:.0f} ms")


async def test_expired_foreign_and_tampered_file_urls_are_refused(g: Gql) -> None:
    created = await g(CREATE, input={"prompt": {"concept": "a signed knight"}, "pipeline": "probe_short"})
    job_id = created["data"]["createAssetJob"]["job"]["id"]
    await g.harness.finish(job_id)
    asset_id = (await g(FINISHED[0], id=job_id))["data"]["job"]["assetId"]
    files = (await g(FINISHED[1], id=asset_id))["data"]["asset"]["versions"][0]["files"]
    good = files[0]["url"]
    assert (await g.http.get(good)).status_code == 200
    parts = urlsplit(good)
    key = parts.path.removeprefix("/files/")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}"
    secret = g.harness.settings.signing_secret or ""
    foreign_secret = UrlSigner("another-deployment").sign(key, 300, base)
    other_tenant_key = key.replace(key.split("/")[1], "ten_other", 1)
    refused = {
        "expired": UrlSigner(secret).sign(key, -10, base),  # the real secret, a past expiry
        "extended expiry": f"{base}/files/{key}?exp={int(query['exp']) + 3600}&sig={query['sig']}",
        "signed by another secret": foreign_secret,
        "another tenant's path": f"{base}/files/{other_tenant_key}?exp={query['exp']}&sig={query['sig']}",
        "another file's signature": f"{base}/files/{key}x?exp={query['exp']}&sig={query['sig']}",
        "no signature": f"{base}/files/{key}",
        "expiry not a number": f"{base}/files/{key}?exp=soon&sig={query['sig']}",
    }
    for name, url in refused.items():
        response = await g.http.get(url)
        assert response.status_code == 404 and response.text == "not found", name


async def test_a_flooding_key_is_rate_limited_while_another_tenant_keeps_flowing(g: Gql) -> None:
    """400 mutations from one key at 8 at a time (the measured run uses 10,000: docs/performance.md)."""
    flooder, steady = g.key, await g.harness.key_for("ten_steady")
    result = FloodResult()
    await asyncio.gather(
        flood(g, flooder, 400, result), steady_jobs(g, steady, jobs=4, interval_s=0.1, result=result)
    )
    limits = g.harness.settings.rate_limits
    assert set(result.codes) == {"ok", "RATE_LIMITED"}, result.codes
    allowed = limits.key_burst + limits.key_rate_per_s * result.elapsed_s + 1
    assert result.codes["ok"] <= allowed, (result.codes, result.elapsed_s)
    assert result.retry_after and min(result.retry_after) >= 1
    assert result.states == ["JOB_STATE_SUCCEEDED"] * 4, "the other tenant was neither limited nor starved"
    assert len(result.waits_s) == 4 * 2, "one queue wait per step of each job"
