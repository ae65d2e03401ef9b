"""Tenants, projects, members and API keys (the records behind authentication).

A key is `ac_<key id>_<secret>`, shown once. Only HMAC-SHA256(pepper, key) is stored: keys are
random 256-bit secrets checked on every request, so a slow password hash (bcrypt, argon2)
would add latency and no strength, while the pepper (kept outside the database) makes a
leaked table useless for checking guesses. Keys made before migration 0005 carry their plain
SHA-256 (hash_scheme "sha256") until their next use rehashes them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Connection, insert, select

from assetcore.db.database import Database
from assetcore.db.schema import api_keys, members, projects, tenants
from assetcore.errors import InvalidArgument
from assetcore.ids import new_id

ROLES = ("viewer", "editor", "admin")


def hash_key(pepper: str, key: str) -> str:
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def legacy_hash_key(key: str) -> str:
    """The hash of keys made before migration 0005."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLES:
        raise InvalidArgument(f"unknown role {role[:20]!r} (roles: {', '.join(ROLES)})", field=field)
    return role


def new_key(
    conn: Connection, member_id: str, pepper: str, expires_at: float | None = None
) -> tuple[str, str]:
    """A key for an active member, on the member's project. Returns (key id, key): the key's only showing."""
    member = conn.execute(select(members).where(members.c.id == member_id)).one()
    key_id = new_id("key")
    key = f"ac_{key_id.removeprefix('key_')}_{secrets.token_urlsafe(32)}"
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            tenant_id=member.tenant_id,
            project_id=member.project_id,
            role=member.role,
            key_hash=hash_key(pepper, key),
            hash_scheme="hmac",
            member_id=member_id,
            expires_at=expires_at,
            created_at=time.time(),
        )
    )
    return key_id, key


def ensure_member(conn: Connection, tenant_id: str, project_id: str | None, user: str, role: str) -> str:
    """The active member of `user` on the project (or the tenant, project None), created when missing."""
    found = conn.execute(
        select(members.c.id).where(
            members.c.tenant_id == tenant_id,
            members.c.project_id.is_(None) if project_id is None else members.c.project_id == project_id,
            members.c.user_id == user,
            members.c.removed_at.is_(None),
        )
    ).scalar()
    if found is not None:
        return str(found)
    member_id = new_id("mbr")
    conn.execute(
        insert(members).values(
            id=member_id,
            tenant_id=tenant_id,
            project_id=project_id,
            user_id=user,
            role=role,
            created_at=time.time(),
        )
    )
    return member_id


async def create_api_key(
    db: Database, tenant: str, project: str, role: str, *, pepper: str, user: str = "owner"
) -> tuple[str, str]:
    """The operator's way in (CLI, embedded mesh, tests): the tenant and project when new, the
    user's membership with `role`, and a key for it. An admin made this way is also the tenant's
    admin (it bootstraps a tenant). Returns (key id, key)."""
    check_role(role)
    if not tenant.strip() or not project.strip():
        raise InvalidArgument("tenant and project names must not be empty", field="tenant")
    return await db.write(lambda conn: _create(conn, tenant, project, role, pepper, user))


def _create(
    conn: Connection, tenant: str, project: str, role: str, pepper: str, user: str
) -> tuple[str, str]:
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
    user = f"{user}:{role}"  # one member per role, so that an operator's keys of each role coexist
    member_id = ensure_member(conn, tenant_id, project_id, user, role)
    if role == "admin":
        ensure_member(conn, tenant_id, None, user, "admin")
    return new_key(conn, member_id, pepper)
