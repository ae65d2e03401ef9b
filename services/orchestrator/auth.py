"""Authentication (API key or service token -> principal) and role checks.

Each API key belongs to one tenant and project and has a role: viewer (read), editor
(create, cancel, retry, review), admin. Workers present the internal service token instead
and may call only the worker methods.
"""

from __future__ import annotations

import hmac
import time

from sqlalchemy import select

from assetcore.db.database import Database
from assetcore.db.keys import hash_key
from assetcore.db.schema import api_keys
from assetcore.errors import PermissionDenied, Unauthenticated
from services.orchestrator.core import Principal

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2}
WORKER = Principal(tenant_id="", project_id="", role="worker", key_id="internal")
CACHE_TTL_S = 30.0


class Authenticator:
    def __init__(self, db: Database, internal_token: str) -> None:
        self._db = db
        self._internal_token = internal_token
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing API key (authorization: Bearer <key>)")
        if hmac.compare_digest(token.encode(), self._internal_token.encode()):
            return WORKER
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


def authorize(principal: Principal, required: str) -> None:
    """`required` is a role name or 'worker'."""
    if required == "worker":
        if not principal.is_worker:
            raise PermissionDenied("worker methods need the internal service token")
        return
    if principal.is_worker:
        raise PermissionDenied("the service token cannot call client methods")
    if ROLE_RANK[principal.role] < ROLE_RANK[required]:
        raise PermissionDenied(f"the {principal.role} role cannot do this; {required} is needed")
