"""Administration over GraphQL: projects (tenant admins), members, API keys and the audit log.

Only translation, like the rest of the schema: the orchestrator decides who may do what
(services/orchestrator/admin.py). A key's secret appears once, in createApiKey's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from assetcore.errors import InvalidArgument, excerpt
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import orchestrator_pb2
from gateway.context import context_of
from gateway.types import PageInfo, _time, documented


def _id(prefix: str, value: str | None, field: str) -> str:
    if value is None:
        return ""
    if not is_valid_id(prefix, value):
        raise InvalidArgument(f"malformed id {excerpt(value)!r}", field=field)
    return value


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_proto(cls, p: orchestrator_pb2.Project) -> Project:
        return cls(id=strawberry.ID(p.id), name=p.name, created_at=p.created_at.ToDatetime(tzinfo=UTC))


@strawberry.type
class Member:
    id: strawberry.ID
    project_id: strawberry.ID
    user_id: str
    role: str
    created_at: datetime
    removed_at: datetime | None

    @classmethod
    def from_proto(cls, m: orchestrator_pb2.Member) -> Member:
        return cls(
            id=strawberry.ID(m.id),
            project_id=strawberry.ID(m.project_id),
            user_id=m.user_id,
            role=m.role,
            created_at=m.created_at.ToDatetime(tzinfo=UTC),
            removed_at=_time(m.removed_at, m.HasField("removed_at")),
        )


@strawberry.type
class ApiKey:
    id: strawberry.ID
    project_id: strawberry.ID
    member_id: strawberry.ID
    user_id: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_proto(cls, k: orchestrator_pb2.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(k.id),
            project_id=strawberry.ID(k.project_id),
            member_id=strawberry.ID(k.member_id),
            user_id=k.user_id,
            role=k.role,
            created_at=k.created_at.ToDatetime(tzinfo=UTC),
            expires_at=_time(k.expires_at, k.HasField("expires_at")),
            revoked_at=_time(k.revoked_at, k.HasField("revoked_at")),
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(description="The key itself: shown this once, stored only hashed.")


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    project_id: strawberry.ID
    at: datetime
    user_id: str
    member_id: str
    key_id: str
    action: str
    object_id: str
    detail: str  # JSON object

    @classmethod
    def from_proto(cls, e: orchestrator_pb2.AuditEntry) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(e.id)),
            project_id=strawberry.ID(e.project_id),
            at=e.at.ToDatetime(tzinfo=UTC),
            user_id=e.user_id,
            member_id=e.member_id,
            key_id=e.key_id,
            action=e.action,
            object_id=e.object_id,
            detail=e.detail,
        )


@strawberry.type
class AuditEntryConnection:
    nodes: list[AuditEntry]
    page_info: PageInfo


@strawberry.type
class AdminQuery:
    @documented(strawberry.field, "The tenant's projects (tenant admins).")
    async def projects(self, info: Info) -> list[Project]:
        ctx = context_of(info)
        found = await ctx.api.list_projects(ctx.api_key(), orchestrator_pb2.ListProjectsRequest())
        return [Project.from_proto(p) for p in found.projects]

    @documented(strawberry.field, "A project's members (admins); `projectId` defaults to the key's project.")
    async def members(self, info: Info, project_id: strawberry.ID | None = None) -> list[Member]:
        ctx = context_of(info)
        request = orchestrator_pb2.ListMembersRequest(project_id=_id("prj", project_id, "projectId"))
        return [Member.from_proto(m) for m in (await ctx.api.list_members(ctx.api_key(), request)).members]

    @documented(strawberry.field, "A project's API keys, without their secrets (admins).")
    async def api_keys(self, info: Info, project_id: strawberry.ID | None = None) -> list[ApiKey]:
        ctx = context_of(info)
        request = orchestrator_pb2.ListApiKeysRequest(project_id=_id("prj", project_id, "projectId"))
        return [ApiKey.from_proto(k) for k in (await ctx.api.list_api_keys(ctx.api_key(), request)).api_keys]

    @documented(strawberry.field, "A project's audit log, newest first (admins).")
    async def audit_log(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        action: str | None = None,
        project_id: strawberry.ID | None = None,
    ) -> AuditEntryConnection:
        ctx = context_of(info)
        if not 1 <= first <= 100:
            raise InvalidArgument("must be within 1..100", field="first")
        request = orchestrator_pb2.ListAuditLogRequest(
            project_id=_id("prj", project_id, "projectId"),
            page_size=first,
            page_token=after or "",
            action=action or "",
        )
        found = await ctx.api.list_audit_log(ctx.api_key(), request)
        return AuditEntryConnection(
            nodes=[AuditEntry.from_proto(e) for e in found.entries],
            page_info=PageInfo(
                has_next_page=bool(found.next_page_token), end_cursor=found.next_page_token or None
            ),
        )


@strawberry.type
class AdminMutation:
    @documented(strawberry.mutation, "A new project of the caller's tenant (tenant admins).")
    async def create_project(self, info: Info, name: str) -> Project:
        ctx = context_of(info)
        request = orchestrator_pb2.CreateProjectRequest(name=name)
        return Project.from_proto(await ctx.api.create_project(ctx.api_key(), request))

    @documented(strawberry.mutation, "Give a user a role (viewer, editor, admin) on a project.")
    async def add_member(
        self, info: Info, user_id: str, role: str, project_id: strawberry.ID | None = None
    ) -> Member:
        ctx = context_of(info)
        request = orchestrator_pb2.AddMemberRequest(
            project_id=_id("prj", project_id, "projectId"), user_id=user_id, role=role
        )
        return Member.from_proto(await ctx.api.add_member(ctx.api_key(), request))

    @strawberry.mutation
    async def set_member_role(self, info: Info, member_id: strawberry.ID, role: str) -> Member:
        ctx = context_of(info)
        request = orchestrator_pb2.SetMemberRoleRequest(
            member_id=_id("mbr", member_id, "memberId"), role=role
        )
        return Member.from_proto(await ctx.api.set_member_role(ctx.api_key(), request))

    @documented(strawberry.mutation, "Remove a member; its keys are revoked.")
    async def remove_member(self, info: Info, member_id: strawberry.ID) -> Member:
        ctx = context_of(info)
        request = orchestrator_pb2.RemoveMemberRequest(member_id=_id("mbr", member_id, "memberId"))
        return Member.from_proto(await ctx.api.remove_member(ctx.api_key(), request))

    @documented(
        strawberry.mutation, "A key for a member, acting with the member's role; `secret` is shown once."
    )
    async def create_api_key(
        self, info: Info, member_id: strawberry.ID, expires_at: datetime | None = None
    ) -> CreatedApiKey:
        ctx = context_of(info)
        request = orchestrator_pb2.CreateApiKeyRequest(member_id=_id("mbr", member_id, "memberId"))
        if expires_at is not None:
            request.expires_at.FromDatetime(expires_at)
        created = await ctx.api.create_api_key(ctx.api_key(), request)
        return CreatedApiKey(api_key=ApiKey.from_proto(created.api_key), secret=created.secret)

    @documented(strawberry.mutation, "Revoke a key: refused by every replica within seconds.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        ctx = context_of(info)
        request = orchestrator_pb2.RevokeApiKeyRequest(key_id=_id("key", id, "id"))
        return ApiKey.from_proto(await ctx.api.revoke_api_key(ctx.api_key(), request))
