"""Tenants, projects and API keys (the records behind authentication).

A key is `ac_<key id>_<secret>`; only its SHA-256 is stored (keys are 256-bit random, so a
slow password hash would add nothing).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Connection, insert, select

from assetcore.db.database import Database
from assetcore.db.schema import api_keys, projects, tenants
from assetcore.errors import InvalidArgument
from assetcore.ids import new_id

ROLES = ("viewer", "editor", "admin")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(db: Database, tenant: str, project: str, role: str) -> tuple[str, str]:
    """Create the tenant and project when new, and a key for them. Returns (key id, key)."""
    if role not in ROLES:
        raise InvalidArgument(f"unknown role {role!r} (roles: {', '.join(ROLES)})", field="role")
    if not tenant.strip() or not project.strip():
        raise InvalidArgument("tenant and project names must not be empty", field="tenant")
    return await db.write(lambda conn: _create(conn, tenant, project, role))


def _create(conn: Connection, tenant: str, project: str, role: str) -> tuple[str, str]:
    now = time.time()
    tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar()
    if tenant_id is None:
        tenant_id = new_id("ten")
        conn.execute(insert(tenants).values(id=tenant_id, name=tenant, created_at=now))
    project_id = conn.execute(
        select(projects.c.id).where(projects.c.tenant_id == tenant_id, projects.c.name == project)
    ).scalar()
    if project_id is None:
        project_id = new_id("prj")
        conn.execute(
            insert(projects).values(id=project_id, tenant_id=tenant_id, name=project, created_at=now)
        )
    key_id = new_id("key")
    key = f"ac_{key_id.removeprefix('key_')}_{secrets.token_urlsafe(32)}"
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            tenant_id=tenant_id,
            project_id=project_id,
            role=role,
            key_hash=hash_key(key),
            created_at=now,
        )
    )
    return key_id, key
