"""Rate limits on mutations: a token bucket per API key and one per tenant, in the job store.

Every orchestrator replica (and so every gateway replica behind them) shares the buckets: one
row per bucket in `rate_buckets`, taken from by a single upsert that refills the bucket for the
time since its last update and takes a token only if one is there, so concurrent calls on
PostgreSQL or SQLite never take the same token twice. A call takes a token from its key's
bucket and its tenant's in one transaction: refused by either, it takes from neither.

A refusal tells when the next token arrives (RATE_LIMITED with a retry-after). Until then
nothing can give one back (other replicas only take tokens), so this replica refuses that
bucket's calls from memory without touching the database: a flood costs one write a bucket
per refill interval, not one a call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, Float, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from assetcore.config import RateLimits
from assetcore.db.database import Database
from assetcore.db.schema import rate_buckets as rb
from assetcore.errors import RateLimited
from services.orchestrator.principal import Principal

MAX_REMEMBERED = 10_000  # refused buckets remembered per replica; expired ones go first


@dataclass(frozen=True)
class Bucket:
    name: str  # the row's key: "key:<api key id>" or "tenant:<tenant id>"
    label: str  # what the error message calls it
    rate_per_s: float
    burst: int


class _Refused(Exception):
    def __init__(self, bucket: Bucket, retry_after_s: float) -> None:
        super().__init__(bucket.name)
        self.bucket = bucket
        self.retry_after_s = retry_after_s


def _refilled(tokens: Any, updated_at: Any) -> Any:
    """SQL: the bucket's tokens now (refilled since updated_at, capped at its burst)."""
    now, rate, burst = (
        bindparam("now", type_=Float),
        bindparam("rate", type_=Float),
        bindparam("burst", type_=Float),
    )
    elapsed = case((now > updated_at, now - updated_at), else_=0.0)
    level = tokens + elapsed * rate
    return case((level > burst, burst), else_=level)


def _take_statement(is_sqlite: bool) -> Any:
    """Insert a full bucket less one token, or take one from the existing row if it has one."""
    insert = (sqlite.insert if is_sqlite else postgresql.insert)(rb).values(
        bucket=bindparam("bucket"), tokens=bindparam("burst") - 1, updated_at=bindparam("now")
    )
    level = _refilled(rb.c.tokens, rb.c.updated_at)
    return insert.on_conflict_do_update(
        index_elements=[rb.c.bucket],
        set_={
            "tokens": level - 1,
            "updated_at": case(
                (rb.c.updated_at > insert.excluded.updated_at, rb.c.updated_at),
                else_=insert.excluded.updated_at,
            ),
        },
        where=level >= 1,
    ).returning(rb.c.tokens)


LEVEL = select(_refilled(rb.c.tokens, rb.c.updated_at)).where(rb.c.bucket == bindparam("bucket"))


class RateLimiter:
    def __init__(self, db: Database, limits: RateLimits) -> None:
        self._db = db
        self._limits = limits
        self._take = _take_statement(db.sqlite)
        self._refused_until: dict[str, float] = {}

    def buckets(self, principal: Principal) -> tuple[Bucket, Bucket]:
        limits = self._limits
        return (
            Bucket(f"key:{principal.key_id}", "API key", limits.key_rate_per_s, limits.key_burst),
            Bucket(f"tenant:{principal.tenant_id}", "tenant", limits.tenant_rate_per_s, limits.tenant_burst),
        )

    async def admit(self, principal: Principal) -> None:
        """Take a token from the caller's key and tenant buckets, or raise RateLimited."""
        now = time.time()
        buckets = self.buckets(principal)
        for bucket in buckets:
            until = self._refused_until.get(bucket.name, 0.0)
            if until > now:
                raise _error(bucket, until - now)
        try:
            await self._db.write(partial(self._take_all, buckets=buckets, now=now))
        except _Refused as refused:
            self._remember(refused.bucket.name, now + refused.retry_after_s, now)
            raise _error(refused.bucket, refused.retry_after_s) from None

    def _take_all(self, conn: Connection, *, buckets: tuple[Bucket, ...], now: float) -> None:
        for bucket in buckets:
            params = {
                "bucket": bucket.name,
                "now": now,
                "rate": bucket.rate_per_s,
                "burst": float(bucket.burst),
            }
            if conn.execute(self._take, params).first() is None:
                level = conn.execute(LEVEL, params).scalar_one()
                raise _Refused(bucket, (1.0 - level) / bucket.rate_per_s)  # rolls back the other's token

    def _remember(self, name: str, until: float, now: float) -> None:
        if len(self._refused_until) >= MAX_REMEMBERED:
            self._refused_until = {k: v for k, v in self._refused_until.items() if v > now}
        if len(self._refused_until) < MAX_REMEMBERED:
            self._refused_until[name] = until


def _error(bucket: Bucket, retry_after_s: float) -> RateLimited:
    return RateLimited(
        f"too many requests for this {bucket.label}: {bucket.rate_per_s:g} a second, bursts of "
        f"{bucket.burst}; retry in {retry_after_s:.1f} s",
        retry_after_s=retry_after_s,
    )
