"""API keys in the job store (SQLite and PostgreSQL): two orchestrator replicas' authenticators
on one database see a revocation within their cache TTL; expired keys are refused; keys made
before migration 0005 keep working and are rehashed with the pepper on first use."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Connection, insert, select

from assetcore.db.database import Database, close_database, open_database
from assetcore.db.keys import create_api_key, hash_key
from assetcore.db.migrate import upgrade
from assetcore.db.schema import api_keys, members, projects, tenants
from assetcore.errors import Unauthenticated
from assetcore.proto.v1 import orchestrator_pb2
from services.orchestrator.admin import Admin
from services.orchestrator.auth import Authenticator

pytestmark = pytest.mark.timeout(60)
PEPPER = "test-pepper"
TTL_S = 0.3


@pytest.fixture
async def db(migrated_db: Database) -> Database:
    return migrated_db


def replica(db: Database) -> Authenticator:
    return Authenticator(db, "internal", PEPPER, cache_ttl_s=TTL_S)


async def test_a_revocation_reaches_the_other_replica_within_its_cache_ttl(db: Database) -> None:
    _, admin_key = await create_api_key(db, "acme", "p1", "admin", pepper=PEPPER)
    first, second = replica(db), replica(db)
    admin = await first.authenticate(admin_key)
    viewer = await Admin(db, PEPPER).add_member(
        admin, orchestrator_pb2.AddMemberRequest(user_id="ann", role="viewer")
    )
    created = await Admin(db, PEPPER).create_api_key(
        admin, orchestrator_pb2.CreateApiKeyRequest(member_id=viewer.id)
    )
    assert (await second.authenticate(created.secret)).role == "viewer"  # now cached on the second
    await Admin(db, PEPPER).revoke_api_key(
        admin, orchestrator_pb2.RevokeApiKeyRequest(key_id=created.api_key.id)
    )
    await asyncio.sleep(TTL_S)  # the cache entry lives at most this long
    with pytest.raises(Unauthenticated):
        await second.authenticate(created.secret)
    stored = await db.read(
        lambda conn: conn.execute(
            select(api_keys.c.key_hash).where(api_keys.c.id == created.api_key.id)
        ).scalar()
    )
    assert stored == hash_key(PEPPER, created.secret) and created.secret not in stored


async def test_an_expired_key_is_refused(db: Database) -> None:
    _, admin_key = await create_api_key(db, "acme", "p1", "admin", pepper=PEPPER)
    auth = replica(db)
    admin = await auth.authenticate(admin_key)
    expires = Timestamp()
    expires.FromNanoseconds(int((time.time() + 0.5) * 1e9))
    created = await Admin(db, PEPPER).create_api_key(
        admin, orchestrator_pb2.CreateApiKeyRequest(member_id=admin.member_id, expires_at=expires)
    )
    assert (await auth.authenticate(created.secret)).key_id == created.api_key.id
    await asyncio.sleep(0.6)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(created.secret)


async def test_keys_from_before_0005_keep_working_and_are_rehashed(database_url: str) -> None:
    await upgrade(database_url, "0004")
    db = open_database(database_url)
    legacy = "ac_01legacy_secretsecretsecret"
    try:
        await db.write(lambda conn: _legacy_key(conn, legacy))
        await upgrade(database_url)
        principal = await replica(db).authenticate(legacy)
        assert (principal.role, principal.tenant_admin, principal.user_id) == (
            "admin",
            True,
            "legacy:key_old",
        )
        row = await db.read(
            lambda conn: conn.execute(select(api_keys).where(api_keys.c.id == "key_old")).one()
        )
        assert (row.hash_scheme, row.key_hash) == ("hmac", hash_key(PEPPER, legacy))
        assert (await replica(db).authenticate(legacy)).key_id == "key_old"
        assert len(await db.read(lambda conn: conn.execute(select(members)).all())) == 2  # project + tenant
    finally:
        await close_database(db)


def _legacy_key(conn: Connection, key: str) -> None:
    """A key as 0004 stored it: a plain SHA-256, no member."""
    now = time.time()
    conn.execute(insert(tenants).values(id="ten_old", name="old", created_at=now))
    conn.execute(insert(projects).values(id="prj_old", tenant_id="ten_old", name="p", created_at=now))
    digest = hashlib.sha256(key.encode()).hexdigest()
    conn.execute(
        insert(api_keys).values(
            id="key_old",
            tenant_id="ten_old",
            project_id="prj_old",
            role="admin",
            key_hash=digest,
            created_at=now,
        )
    )
