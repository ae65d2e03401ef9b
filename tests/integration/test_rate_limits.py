"""Mutation rate limits: token buckets per API key and per tenant in the job store (SQLite and
PostgreSQL), shared by orchestrator replicas; RATE_LIMITED with a retry-after through gRPC and
GraphQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from assetcore.config import RateLimits
from assetcore.db.database import Database
from assetcore.db.schema import rate_buckets
from assetcore.errors import RateLimited
from assetcore.ids import new_id
from services.orchestrator.principal import Principal
from services.orchestrator.rate_limits import RateLimiter
from tests.conftest import fast_settings
from tests.support.gql import first_error, gateway_over_mesh

pytestmark = pytest.mark.timeout(120)
SLOW = 0.01  # tokens a second: nothing refills while a test runs


def editor(tenant: str, key: str) -> Principal:
    return Principal(tenant_id=tenant, project_id="prj_1", role="editor", key_id=key)


@pytest.fixture
async def db(migrated_db: Database) -> Database:
    return migrated_db


async def admitted(limiter: RateLimiter, principal: Principal, calls: int) -> int:
    results = await asyncio.gather(*(limiter.admit(principal) for _ in range(calls)), return_exceptions=True)
    for result in results:
        if result is not None and not isinstance(result, RateLimited):
            raise result
    return sum(result is None for result in results)


async def test_a_key_gets_its_burst_then_a_retry_after_and_another_tenant_is_unaffected(db: Database) -> None:
    limiter = RateLimiter(
        db, RateLimits(key_rate_per_s=SLOW, key_burst=3, tenant_rate_per_s=SLOW, tenant_burst=100)
    )
    flooder = editor("ten_a", "key_a")
    for _ in range(3):
        await limiter.admit(flooder)
    with pytest.raises(RateLimited) as refused:
        await limiter.admit(flooder)
    assert refused.value.code == "RATE_LIMITED"
    assert 99 < refused.value.retry_after_s <= 100, "one token at 0.01 a second"
    assert "API key" in refused.value.message
    await limiter.admit(editor("ten_b", "key_b"))  # another tenant's key: its own buckets


async def test_the_tenant_bucket_spans_its_keys_and_a_refusal_takes_no_token(db: Database) -> None:
    limits = RateLimits(key_rate_per_s=SLOW, key_burst=2, tenant_rate_per_s=SLOW, tenant_burst=3)
    limiter = RateLimiter(db, limits)
    await limiter.admit(editor("ten_a", "key_1"))
    await limiter.admit(editor("ten_a", "key_2"))
    await limiter.admit(editor("ten_a", "key_3"))
    with pytest.raises(RateLimited, match="tenant"):
        await limiter.admit(editor("ten_a", "key_4"))  # key_4's own bucket is full
    key_4 = select(rate_buckets).where(rate_buckets.c.bucket == "key:key_4")
    assert await db.read(lambda conn: conn.execute(key_4).first()) is None, "the refusal took no key token"


async def test_concurrent_replicas_never_hand_out_more_than_the_burst(db: Database) -> None:
    """Two limiters on one store stand for two orchestrator replicas; 50 calls at once."""
    limits = RateLimits(key_rate_per_s=SLOW, key_burst=10, tenant_rate_per_s=SLOW, tenant_burst=100)
    replicas = [RateLimiter(db, limits), RateLimiter(db, limits)]
    principal = editor("ten_a", "key_a")
    counts = await asyncio.gather(*(admitted(r, principal, 25) for r in replicas))
    assert sum(counts) == 10


async def test_a_bucket_refills_at_its_rate(db: Database) -> None:
    limiter = RateLimiter(
        db, RateLimits(key_rate_per_s=20, key_burst=1, tenant_rate_per_s=20, tenant_burst=1)
    )
    principal = editor("ten_a", "key_a")
    await limiter.admit(principal)
    with pytest.raises(RateLimited) as refused:
        await limiter.admit(principal)
    await asyncio.sleep(refused.value.retry_after_s + 0.01)
    await limiter.admit(principal)


async def test_rate_limited_mutations_over_graphql_carry_retry_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assetcore.db'}"
    limits = {"key_rate_per_s": SLOW, "key_burst": 2, "tenant_rate_per_s": 1000, "tenant_burst": 1000}
    settings = fast_settings(tmp_path / "data", database_url=url, queue_url=url, rate_limits=limits)
    cancel = f'mutation {{ cancelJob(id: "{new_id("job")}") {{ state }} }}'
    async with gateway_over_mesh(settings) as g:
        codes = [first_error(await g(cancel))["extensions"]["code"] for _ in range(2)]
        assert codes == ["NOT_FOUND", "NOT_FOUND"], "limits are checked first, and these pass"
        error = first_error(await g(cancel))
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 100}, error
        assert "errors" not in await g("{ me { role } }"), "queries are not limited"
        other = await g.harness.key_for("ten_other")
        assert first_error(await g(cancel, api_key=other))["extensions"]["code"] == "NOT_FOUND"
