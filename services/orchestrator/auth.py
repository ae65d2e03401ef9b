"""Authentication (API key or worker credential -> principal) and role checks.

Each API key belongs to one tenant and project and has a role: viewer (read), editor
(create, cancel, retry, review), admin. Workers present a worker credential instead
(assetcore/rpc/credentials.py: `wkr1.<tenant or *>.<hmac>`, or the raw internal secret as
the all-tenant one) and may call only the worker methods — and only with the all-tenant
scope, since StartStep, CompleteStep, ... act on any tenant's steps. The interceptors call
`Authenticator.authenticate` and `.authorize` with the requirement of each method
(servicer.ROLES).
"""

from __future__ import annotations

import time

from sqlalchemy import select

from assetcore.db.database import Database
from assetcore.db.keys import hash_key
from assetcore.db.schema import api_keys
from assetcore.errors import PermissionDenied, Unauthenticated
from assetcore.rpc.credentials import verify_worker_token
from services.orchestrator.principal import Principal

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2}
WORKER = Principal(tenant_id="", project_id="", role="worker", key_id="internal")  # every tenant
CACHE_TTL_S = 30.0


def worker_principal(tenant: str) -> Principal:
    """The principal of a worker credential; tenant "" (WORKER) is the all-tenant scope."""
    return WORKER if tenant in ("", "*") else Principal(tenant, "", "worker", f"worker:{tenant}")


class Authenticator:
    def __init__(self, db: Database, internal_token: str) -> None:
        self._db = db
        self._internal_token = internal_token
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing API key (authorization: Bearer <key>)")
        scope = verify_worker_token(self._internal_token, token)
        if scope is not None:
            return worker_principal(scope.tenant)
        digest = hash_key(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        query = select(api_keys).where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))
        row = await self._db.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise Unauthenticated("invalid or revoked API key")
        principal = Principal(
            tenant_id=row.tenant_id, project_id=row.project_id, role=row.role, key_id=row.id
        )
        self._cache[digest] = (principal, time.monotonic() + CACHE_TTL_S)
        return principal

    def authorize(self, principal: Principal, requirement: str) -> None:
        authorize(principal, requirement)


def authorize(principal: Principal, required: str) -> None:
    """`required` is a role name or 'worker'."""
    if required == "worker":
        if not principal.is_worker:
            raise PermissionDenied("worker methods need the internal worker credential")
        if principal.tenant_id:
            raise PermissionDenied("worker methods need the all-tenant worker credential")
        return
    if principal.is_worker:
        raise PermissionDenied("the worker credential cannot call client methods")
    if ROLE_RANK[principal.role] < ROLE_RANK[required]:
        raise PermissionDenied(f"the {principal.role} role cannot do this; {required} is needed")
