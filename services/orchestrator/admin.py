"""Projects, members and API keys, managed by admins (the role model is in auth.py).

A project's admin manages the members and keys of its own project; a tenant's admin creates
projects and may name any project of its tenant. Whatever lies outside the caller's reach
reads as NOT_FOUND, so that ids of other tenants and projects leak nothing. Every change is
written to the audit log in its own transaction.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, select, update

from assetcore.db.database import Database
from assetcore.db.keys import check_role, ensure_member, new_key
from assetcore.db.schema import api_keys, members, projects
from assetcore.errors import FailedPrecondition, InvalidArgument, NotFound
from assetcore.ids import is_valid_id, new_id
from assetcore.proto.v1 import orchestrator_pb2
from services.orchestrator.audit import record
from services.orchestrator.auth import authorize
from services.orchestrator.convert import timestamp
from services.orchestrator.principal import Principal


def _name(value: str, field: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidArgument(f"must be 1..{limit} characters", field=field)
    return value


def project_in_reach(conn: Connection, principal: Principal, project_id: str) -> str:
    """The project an admin call acts on: the caller's own, or (tenant admins) one of its tenant's."""
    if not project_id or project_id == principal.project_id:
        return principal.project_id
    if not is_valid_id("prj", project_id):
        raise InvalidArgument("malformed id", field="project_id")
    found = conn.execute(
        select(projects.c.id).where(projects.c.id == project_id, projects.c.tenant_id == principal.tenant_id)
    ).scalar()
    if found is None or not principal.tenant_admin:
        raise NotFound("no such project", field="project_id")
    return project_id


def _member_in_reach(conn: Connection, principal: Principal, member_id: str) -> Row[Any]:
    if not is_valid_id("mbr", member_id):
        raise InvalidArgument("malformed id", field="member_id")
    row = conn.execute(
        select(members).where(
            members.c.id == member_id,
            members.c.tenant_id == principal.tenant_id,
            members.c.project_id.is_not(None),
        )
    ).first()
    if row is None or (row.project_id != principal.project_id and not principal.tenant_admin):
        raise NotFound("no such member", field="member_id")
    return row


def member_proto(row: Row[Any]) -> orchestrator_pb2.Member:
    member = orchestrator_pb2.Member(
        id=row.id, project_id=row.project_id or "", user_id=row.user_id, role=row.role
    )
    member.created_at.CopyFrom(timestamp(row.created_at))
    if row.removed_at is not None:
        member.removed_at.CopyFrom(timestamp(row.removed_at))
    return member


def key_proto(row: Row[Any]) -> orchestrator_pb2.ApiKey:
    key = orchestrator_pb2.ApiKey(
        id=row.id,
        project_id=row.project_id,
        member_id=row.member_id or "",
        user_id=row.user_id,
        role=row.member_role,
    )
    key.created_at.CopyFrom(timestamp(row.created_at))
    for name in ("expires_at", "revoked_at"):
        if getattr(row, name) is not None:
            getattr(key, name).CopyFrom(timestamp(getattr(row, name)))
    return key


def _keys_query() -> Select[Any]:
    return select(
        api_keys.c.id,
        api_keys.c.project_id,
        api_keys.c.member_id,
        api_keys.c.created_at,
        api_keys.c.expires_at,
        api_keys.c.revoked_at,
        members.c.user_id,
        members.c.role.label("member_role"),
    ).join(members, members.c.id == api_keys.c.member_id)


class Admin:
    def __init__(self, db: Database, pepper: str) -> None:
        self._db = db
        self._pepper = pepper

    async def create_project(
        self, principal: Principal, request: orchestrator_pb2.CreateProjectRequest
    ) -> orchestrator_pb2.Project:
        authorize(principal, "tenant_admin")
        name = _name(request.name, "name")

        def create(conn: Connection) -> orchestrator_pb2.Project:
            taken = conn.execute(
                select(projects.c.id).where(
                    projects.c.tenant_id == principal.tenant_id, projects.c.name == name
                )
            ).first()
            if taken is not None:
                raise FailedPrecondition("the tenant has a project of that name", field="name")
            project_id, now = new_id("prj"), time.time()
            conn.execute(
                insert(projects).values(
                    id=project_id, tenant_id=principal.tenant_id, name=name, created_at=now
                )
            )
            record(conn, principal, "project.create", project_id, project_id=project_id, name=name)
            return orchestrator_pb2.Project(id=project_id, name=name, created_at=timestamp(now))

        return await self._db.write(create)

    async def list_projects(self, principal: Principal) -> orchestrator_pb2.ListProjectsResponse:
        authorize(principal, "tenant_admin")
        query = select(projects).where(projects.c.tenant_id == principal.tenant_id).order_by(projects.c.id)
        rows = await self._db.read(lambda conn: conn.execute(query).all())
        return orchestrator_pb2.ListProjectsResponse(
            projects=[
                orchestrator_pb2.Project(id=r.id, name=r.name, created_at=timestamp(r.created_at))
                for r in rows
            ]
        )

    async def add_member(
        self, principal: Principal, request: orchestrator_pb2.AddMemberRequest
    ) -> orchestrator_pb2.Member:
        user, role = _name(request.user_id, "user_id"), check_role(request.role)

        def add(conn: Connection) -> orchestrator_pb2.Member:
            project_id = project_in_reach(conn, principal, request.project_id)
            member_id = ensure_member(conn, principal.tenant_id, project_id, user, role)
            conn.execute(update(members).where(members.c.id == member_id).values(role=role))
            record(conn, principal, "member.add", member_id, project_id=project_id, user_id=user, role=role)
            return member_proto(conn.execute(select(members).where(members.c.id == member_id)).one())

        return await self._db.write(add)

    async def set_member_role(
        self, principal: Principal, request: orchestrator_pb2.SetMemberRoleRequest
    ) -> orchestrator_pb2.Member:
        role = check_role(request.role)

        def change(conn: Connection) -> orchestrator_pb2.Member:
            row = _member_in_reach(conn, principal, request.member_id)
            if row.removed_at is not None:
                raise FailedPrecondition("the member was removed", field="member_id")
            conn.execute(update(members).where(members.c.id == row.id).values(role=role))
            record(
                conn, principal, "member.set_role", row.id, project_id=row.project_id, role=role, was=row.role
            )
            return member_proto(conn.execute(select(members).where(members.c.id == row.id)).one())

        return await self._db.write(change)

    async def remove_member(
        self, principal: Principal, request: orchestrator_pb2.RemoveMemberRequest
    ) -> orchestrator_pb2.Member:
        def remove(conn: Connection) -> orchestrator_pb2.Member:
            row = _member_in_reach(conn, principal, request.member_id)
            now = time.time()
            if row.removed_at is None:
                conn.execute(update(members).where(members.c.id == row.id).values(removed_at=now))
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.member_id == row.id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                record(
                    conn, principal, "member.remove", row.id, project_id=row.project_id, user_id=row.user_id
                )
            return member_proto(conn.execute(select(members).where(members.c.id == row.id)).one())

        return await self._db.write(remove)

    async def list_members(
        self, principal: Principal, request: orchestrator_pb2.ListMembersRequest
    ) -> orchestrator_pb2.ListMembersResponse:
        def read(conn: Connection) -> list[Row[Any]]:
            project_id = project_in_reach(conn, principal, request.project_id)
            query = select(members).where(
                members.c.tenant_id == principal.tenant_id, members.c.project_id == project_id
            )
            return list(conn.execute(query.order_by(members.c.id)).all())

        rows = await self._db.read(read)
        return orchestrator_pb2.ListMembersResponse(members=[member_proto(r) for r in rows])

    async def create_api_key(
        self, principal: Principal, request: orchestrator_pb2.CreateApiKeyRequest
    ) -> orchestrator_pb2.CreateApiKeyResponse:
        expires_at = request.expires_at.ToNanoseconds() / 1e9 if request.HasField("expires_at") else None
        if expires_at is not None and expires_at <= time.time():
            raise InvalidArgument("must be in the future", field="expires_at")

        def create(conn: Connection) -> orchestrator_pb2.CreateApiKeyResponse:
            member = _member_in_reach(conn, principal, request.member_id)
            if member.removed_at is not None:
                raise FailedPrecondition("the member was removed", field="member_id")
            key_id, secret = new_key(conn, member.id, self._pepper, expires_at)
            record(
                conn,
                principal,
                "api_key.create",
                key_id,
                project_id=member.project_id,
                member_id=member.id,
                expires_at=expires_at,
            )
            row = conn.execute(_keys_query().where(api_keys.c.id == key_id)).one()
            return orchestrator_pb2.CreateApiKeyResponse(api_key=key_proto(row), secret=secret)

        return await self._db.write(create)

    async def revoke_api_key(
        self, principal: Principal, request: orchestrator_pb2.RevokeApiKeyRequest
    ) -> orchestrator_pb2.ApiKey:
        if not is_valid_id("key", request.key_id):
            raise InvalidArgument("malformed id", field="key_id")

        def revoke(conn: Connection) -> orchestrator_pb2.ApiKey:
            query = _keys_query().where(
                api_keys.c.id == request.key_id, api_keys.c.tenant_id == principal.tenant_id
            )
            row = conn.execute(query).first()
            if row is None or (row.project_id != principal.project_id and not principal.tenant_admin):
                raise NotFound("no such API key", field="key_id")
            if row.revoked_at is None:
                conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=time.time()))
                record(conn, principal, "api_key.revoke", row.id, project_id=row.project_id)
            return key_proto(conn.execute(_keys_query().where(api_keys.c.id == row.id)).one())

        return await self._db.write(revoke)

    async def list_api_keys(
        self, principal: Principal, request: orchestrator_pb2.ListApiKeysRequest
    ) -> orchestrator_pb2.ListApiKeysResponse:
        def read(conn: Connection) -> list[Row[Any]]:
            project_id = project_in_reach(conn, principal, request.project_id)
            query = _keys_query().where(
                api_keys.c.tenant_id == principal.tenant_id, api_keys.c.project_id == project_id
            )
            return list(conn.execute(query.order_by(api_keys.c.id)).all())

        rows = await self._db.read(read)
        return orchestrator_pb2.ListApiKeysResponse(api_keys=[key_proto(r) for r in rows])

    async def audit_project(self, principal: Principal, project_id: str) -> str:
        """The project whose audit log the caller may read."""
        return await self._db.read(lambda conn: project_in_reach(conn, principal, project_id))
