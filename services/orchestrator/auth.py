"""Authentication (API key or worker credential -> principal) and role checks.

A key belongs to a member of one project and acts with the member's current role: viewer
(read), editor (create, cancel, retry, review), admin (also the project's members and keys);
a tenant admin is admin on each of the tenant's projects and manages projects. Workers present
a worker credential instead (assetcore/rpc/credentials.py: `wkr1.<tenant or *>.<hmac>`, or the
raw internal secret as the all-tenant one) and may call only the worker methods — and only
with the all-tenant scope, since StartStep, CompleteStep, ... act on any tenant's steps. The
interceptors call `Authenticator.authenticate` and `.authorize` with the requirement of each
method (servicer.ROLES).

A lookup is cached for `auth.key_cache_ttl_s` (2 s) and never past the key's expiry: a
revocation, expiry, removal or role change reaches every replica within that time, with no
message between replicas (the job store is the source of truth).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from assetcore.db.database import Database
from assetcore.db.keys import hash_key, legacy_hash_key
from assetcore.db.schema import api_keys, members
from assetcore.errors import PermissionDenied, Unauthenticated
from assetcore.rpc.credentials import verify_worker_token
from services.orchestrator.principal import Principal

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2}
WORKER = Principal(tenant_id="", project_id="", role="worker", key_id="internal")  # every tenant
INVALID = "invalid, expired or revoked API key"


def worker_principal(tenant: str) -> Principal:
    """The principal of a worker credential; tenant "" (WORKER) is the all-tenant scope."""
    return WORKER if tenant in ("", "*") else Principal(tenant, "", "worker", f"worker:{tenant}")


class Authenticator:
    def __init__(self, db: Database, internal_token: str, pepper: str, cache_ttl_s: float = 2.0) -> None:
        self._db = db
        self._internal_token = internal_token
        self._pepper = pepper
        self._ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[Principal, float]] = {}  # by peppered hash, never the key

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing API key (authorization: Bearer <key>)")
        scope = verify_worker_token(self._internal_token, token)
        if scope is not None:
            return worker_principal(scope.tenant)
        digest = hash_key(self._pepper, token)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        self._cache.pop(digest, None)
        found = await self._db.read(lambda conn: _lookup(conn, digest, legacy_hash_key(token)))
        if found is None:
            raise Unauthenticated(INVALID)
        key, principal = found
        if key.hash_scheme != "hmac":  # a key from before 0005: store its peppered hash from now on
            await self._db.write(lambda conn: _rehash(conn, key.id, digest))
        until = time.time() + self._ttl_s
        self._cache[digest] = (principal, until if key.expires_at is None else min(until, key.expires_at))
        return principal

    def authorize(self, principal: Principal, requirement: str) -> None:
        authorize(principal, requirement)


def _lookup(conn: Connection, digest: str, legacy: str) -> tuple[Row[Any], Principal] | None:
    """The live key with this hash and its member's principal; None when unknown, expired, revoked,
    or its member removed."""
    now = time.time()
    row = conn.execute(
        select(api_keys, members.c.role.label("member_role"), members.c.user_id)
        .join(members, members.c.id == api_keys.c.member_id)
        .where(
            or_(
                and_(api_keys.c.key_hash == digest, api_keys.c.hash_scheme == "hmac"),
                and_(api_keys.c.key_hash == legacy, api_keys.c.hash_scheme == "sha256"),
            ),
            api_keys.c.revoked_at.is_(None),
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
            members.c.removed_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    tenant_admin = (
        conn.execute(
            select(members.c.id).where(
                members.c.tenant_id == row.tenant_id,
                members.c.project_id.is_(None),
                members.c.user_id == row.user_id,
                members.c.role == "admin",
                members.c.removed_at.is_(None),
            )
        ).first()
        is not None
    )
    principal = Principal(
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        role="admin" if tenant_admin else row.member_role,
        key_id=row.id,
        member_id=row.member_id,
        user_id=row.user_id,
        tenant_admin=tenant_admin,
    )
    return row, principal


def _rehash(conn: Connection, key_id: str, digest: str) -> None:
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.hash_scheme == "sha256")
        .values(key_hash=digest, hash_scheme="hmac")
    )


def authorize(principal: Principal, required: str) -> None:
    """`required` is a role name, 'tenant_admin' or 'worker'."""
    if required == "worker":
        if not principal.is_worker:
            raise PermissionDenied("worker methods need the internal worker credential")
        if principal.tenant_id:
            raise PermissionDenied("worker methods need the all-tenant worker credential")
        return
    if principal.is_worker:
        raise PermissionDenied("the worker credential cannot call client methods")
    if required == "tenant_admin":
        if not principal.tenant_admin:
            raise PermissionDenied("only the tenant's admins manage its projects")
        return
    if ROLE_RANK[principal.role] < ROLE_RANK[required]:
        raise PermissionDenied(f"the {principal.role} role cannot do this; {required} is needed")
