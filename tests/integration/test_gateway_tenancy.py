"""Projects, members, roles and keys through the real gateway and orchestrator: an isolation
matrix of 2 tenants x 2 projects x 3 roles over every query, mutation and the subscription;
keys shown once and never leaked; the audit log."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import select

from assetcore.config import Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.schema import api_keys
from assetcore.ids import new_id
from tests.support.gql import Gql, gateway_over_mesh

pytestmark = pytest.mark.timeout(180)
ROLES = ("viewer", "editor", "admin")
RANK = {"viewer": 0, "editor": 1, "admin": 2}
CREATE = (
    'mutation { createAssetJob(input: {prompt: {concept: "a knight"}, pipeline: "probe"}) { job { id } } }'
)
SERVER_LOGGERS = {
    "assetcore",
    "gateway",
    "services",
    "uvicorn",
    "strawberry",
    "grpc",
    "sqlalchemy",
    "alembic",
}
EVENTS = gql("subscription($id: ID!) { jobEvents(jobId: $id) { __typename sequence } }")


@dataclass
class Project:
    tenant: str
    id: str
    admin_key: str  # the tenant admin's key (bootstrap)
    keys: dict[str, str]  # role -> key of a member of this project only
    key_ids: dict[str, str]
    members: dict[str, str]  # role -> member id
    job: str = ""
    asset: str = ""


def code(result: dict[str, Any]) -> str | None:
    errors = result.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


def ids_in(result: dict[str, Any], asked: dict[str, Any]) -> set[str]:
    """The record ids an answer names, besides those the caller asked about."""
    found = set(re.findall(r"\b(?:job|ast|prj|mbr|key|ten)_[0-9a-z]{26}\b", json.dumps(result)))
    return found - set(asked.values())


async def ok(g: Gql, query: str, key: str, **variables: Any) -> dict[str, Any]:
    result = await g(query, api_key=key, **variables)
    assert not result.get("errors"), result
    return result["data"]  # type: ignore[no-any-return]


async def make_project(g: Gql, tenant: str, name: str, boot: str | None) -> Project:
    if boot is None:
        boot = await g.harness.key_for(tenant, name, "admin")
        project_id = (await ok(g, "{ me { projectId tenantAdmin } }", boot))["me"]["projectId"]
    else:
        made = await ok(g, "mutation($n: String!) { createProject(name: $n) { id name } }", boot, n=name)
        project_id = made["createProject"]["id"]
    project = Project(tenant, project_id, boot, {}, {}, {})
    for role in ROLES:
        member = await ok(
            g,
            "mutation($u: String!, $r: String!, $p: ID)"
            " { addMember(userId: $u, role: $r, projectId: $p) { id role } }",
            boot,
            u=f"{role}@{tenant}.{name}",
            r=role,
            p=project_id,
        )
        project.members[role] = member_id = member["addMember"]["id"]
        created = await ok(
            g,
            "mutation($m: ID!) { createApiKey(memberId: $m) { secret apiKey { id role projectId } } }",
            boot,
            m=member_id,
        )
        assert created["createApiKey"]["apiKey"]["role"] == role
        project.keys[role] = created["createApiKey"]["secret"]
        project.key_ids[role] = created["createApiKey"]["apiKey"]["id"]
    return project


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The matrix sends some 80 mutations per tenant in seconds: rate limits have their own tests."""
    return settings.model_copy(
        update={"rate_limits": settings.rate_limits.model_copy(update={"tenant_burst": 500})}
    )


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Gql, list[Project]]]:
    async with gateway_over_mesh(settings) as g:
        projects = []
        for tenant in ("acme", "globex"):
            first = await make_project(g, tenant, "p1", None)
            projects += [first, await make_project(g, tenant, "p2", first.admin_key)]
        for p in projects:
            created = await ok(
                g,
                CREATE,
                p.keys["editor"],
            )
            p.job = created["createAssetJob"]["job"]["id"]
        for p in projects:
            api = g.harness.api
            _ = [e async for e in api.watch_job(p.keys["viewer"], p.job)]
            p.asset = (await api.get_job(p.keys["viewer"], p.job)).asset_id
            assert p.asset, p
        yield g, projects


def admin_calls(target: Project) -> dict[str, tuple[str, dict[str, Any]]]:
    """Admin operations on another project's objects (all must read as not found)."""
    return {
        "members": ("query($p: ID) { members(projectId: $p) { id } }", {"p": target.id}),
        "apiKeys": ("query($p: ID) { apiKeys(projectId: $p) { id } }", {"p": target.id}),
        "auditLog": ("query($p: ID) { auditLog(projectId: $p) { nodes { id } } }", {"p": target.id}),
        "addMember": (
            'mutation($p: ID) { addMember(userId: "x", role: "viewer", projectId: $p) { id } }',
            {"p": target.id},
        ),
        "setMemberRole": (
            'mutation($m: ID!) { setMemberRole(memberId: $m, role: "viewer") { id } }',
            {"m": target.members["viewer"]},
        ),
        "removeMember": (
            "mutation($m: ID!) { removeMember(memberId: $m) { id } }",
            {"m": target.members["viewer"]},
        ),
        "createApiKey": (
            "mutation($m: ID!) { createApiKey(memberId: $m) { secret } }",
            {"m": target.members["viewer"]},
        ),
        "revokeApiKey": (
            "mutation($k: ID!) { revokeApiKey(id: $k) { id } }",
            {"k": target.key_ids["viewer"]},
        ),
    }


def job_calls(target: Project) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """(name, least role, query, variables) of every job and asset operation on the target's objects."""
    return {
        "job": ("viewer", "query($id: ID!) { job(id: $id) { id } }", {"id": target.job}),
        "asset": (
            "viewer",
            "query($id: ID!) { asset(id: $id) { id versions { files { url } } } }",
            {"id": target.asset},
        ),
        "cancelJob": ("editor", "mutation($id: ID!) { cancelJob(id: $id) { id } }", {"id": target.job}),
        "retryJob": ("editor", "mutation($id: ID!) { retryJob(id: $id) { id } }", {"id": target.job}),
        "reviewStep": (
            "editor",
            'mutation($id: ID!) { reviewStep(jobId: $id, step: "sketch", decision: APPROVE) { id } }',
            {"id": target.job},
        ),
        "deleteAssetVersion": (
            "editor",
            "mutation($id: ID!) { deleteAssetVersion(assetId: $id, version: 1) { versions } }",
            {"id": target.asset},
        ),
        "deleteAsset": (
            "editor",
            "mutation($id: ID!) { deleteAsset(id: $id) { versions } }",
            {"id": target.asset},
        ),
    }


DESTRUCTIVE = {"deleteAssetVersion", "deleteAsset"}  # allowed on its own project: test_gateway_deletion.py


# The matrix runs on SQLite only: tenancy is the same SQL on both databases, and the flows below
# (admin mutations, revocation, audit) run on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_isolation_matrix(world: tuple[Gql, list[Project]], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    g, projects = world
    responses: list[str] = []
    for caller, role in itertools.product(projects, ROLES):
        key = caller.keys[role]
        me = await ok(g, "{ me { role projectId tenantAdmin } }", key)
        assert me["me"] == {"role": role, "projectId": caller.id, "tenantAdmin": False}
        listed = await ok(g, "{ jobs { nodes { id } } assets { nodes { id } } pipelines { name } }", key)
        assert [j["id"] for j in listed["jobs"]["nodes"]] == [caller.job]
        assert [a["id"] for a in listed["assets"]["nodes"]] == [caller.asset]
        for target in projects:
            own = target is caller
            for name, (least, query, variables) in job_calls(target).items():
                if own and name in DESTRUCTIVE and RANK[role] >= RANK[least]:
                    continue  # it would take the matrix's own asset away
                result = await g(query, api_key=key, **variables)
                responses.append(json.dumps(result))
                if RANK[role] < RANK[least]:
                    assert code(result) == "PERMISSION_DENIED", (name, result)
                elif not own:
                    assert code(result) == "NOT_FOUND", (name, result)
                    assert not {target.job, target.asset} & set(ids_in(result, variables))
                else:  # allowed: any answer but a refusal (a finished job cannot be cancelled)
                    assert code(result) not in ("PERMISSION_DENIED", "NOT_FOUND"), (name, result)
            for name, (query, variables) in admin_calls(target).items():
                if own and name in ("removeMember", "revokeApiKey"):
                    continue  # they would take the matrix's own members and keys away
                result = await g(query, api_key=key, **variables)
                responses.append(json.dumps(result))
                if role != "admin":
                    assert code(result) == "PERMISSION_DENIED", (name, result)
                elif not own:
                    assert code(result) == "NOT_FOUND", (name, result)
                else:
                    assert code(result) is None, (name, result)
            await check_subscription(g, key, target, own)
        for query in ("{ projects { id } }", 'mutation { createProject(name: "mine") { id } }'):
            assert code(await g(query, api_key=key)) == "PERMISSION_DENIED"
    # A foreign id reads exactly like an id that never existed.
    stranger = projects[0].keys["admin"]
    for prefix, query, field in (
        ("job", "query($id: ID!) { job(id: $id) { id } }", "id"),
        ("mbr", "mutation($id: ID!) { createApiKey(memberId: $id) { secret } }", "id"),
        ("key", "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", "id"),
        ("ast", "mutation($id: ID!) { deleteAsset(id: $id) { versions } }", "id"),
    ):
        foreign = {
            "ast": projects[2].asset,
            "job": projects[2].job,
            "mbr": projects[2].members["viewer"],
            "key": projects[2].key_ids["viewer"],
        }
        unknown = new_id(prefix)
        a = (await g(query, api_key=stranger, **{field: foreign[prefix]}))["errors"][0]
        b = (await g(query, api_key=stranger, **{field: unknown}))["errors"][0]
        assert a["message"].replace(foreign[prefix], "ID") == b["message"].replace(unknown, "ID")
        assert a["extensions"] == b["extensions"]
    # No response and no log line carries a stored key hash or another project's secret.
    db = open_database(g.harness.settings.resolved_database_url())
    try:
        hashes = await db.read(lambda conn: conn.execute(select(api_keys.c.key_hash)).scalars().all())
    finally:
        await close_database(db)
    server_logs = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in SERVER_LOGGERS]
    text = "\n".join(responses + server_logs)
    assert hashes and not any(h in text for h in hashes)
    assert not any(secret in text for p in projects for secret in p.keys.values())


async def check_subscription(g: Gql, key: str, target: Project, own: bool) -> None:
    async with g.ws(key) as session:
        request = GraphQLRequest(EVENTS, variable_values={"id": target.job})
        if own:
            seen = [e async for e in session.subscribe(request)]
            assert seen[-1]["jobEvents"]["__typename"] == "JobFinishedEvent"
        else:
            with pytest.raises(TransportQueryError) as refused:
                async for _ in session.subscribe(request):
                    pass
            assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_tenant_admin_keys_shown_once_revoked_and_audited(world: tuple[Gql, list[Project]]) -> None:
    g, projects = world
    p1, p2 = projects[0], projects[1]
    boot = p1.admin_key
    # The tenant admin manages every project of its tenant, not another tenant's.
    listed = await ok(g, "{ projects { id } }", boot)
    assert {p["id"] for p in listed["projects"]} == {p1.id, p2.id}
    assert (
        code(await g("query($p: ID) { members(projectId: $p) { id } }", api_key=boot, p=projects[2].id))
        == "NOT_FOUND"
    )
    keys = await ok(g, "query($p: ID) { apiKeys(projectId: $p) { id role revokedAt } }", boot, p=p2.id)
    assert {k["id"] for k in keys["apiKeys"]} == set(p2.key_ids.values())
    # A role change applies to the member's existing keys; removal revokes them.
    editor = p2.keys["editor"]
    await ok(
        g,
        'mutation($m: ID!) { setMemberRole(memberId: $m, role: "viewer") { role } }',
        boot,
        m=p2.members["editor"],
    )
    create = (
        'mutation { createAssetJob(input: {prompt: {concept: "a cat"}, pipeline: "probe"}) { job { id } } }'
    )
    await wait_for_code(g, create, editor, "PERMISSION_DENIED")
    await ok(g, "mutation($k: ID!) { revokeApiKey(id: $k) { revokedAt } }", boot, k=p2.key_ids["viewer"])
    await wait_for_code(g, "{ me { role } }", p2.keys["viewer"], "UNAUTHENTICATED")
    await ok(g, "mutation($m: ID!) { removeMember(memberId: $m) { removedAt } }", boot, m=p2.members["admin"])
    await wait_for_code(g, "{ me { role } }", p2.keys["admin"], "UNAUTHENTICATED")
    # The audit log: who, what, when, from which key; filtered by action; admins only.
    me = (await ok(g, "{ me { memberId userId } }", boot))["me"]
    log = await ok(
        g,
        "query($p: ID) { auditLog(projectId: $p, first: 100)"
        " { nodes { action objectId userId memberId keyId at } } }",
        boot,
        p=p2.id,
    )
    entries = log["auditLog"]["nodes"]
    actions = [e["action"] for e in entries]
    admin_actions = [a for a in actions if not a.startswith("job.")]  # jobs made until the role change landed
    assert admin_actions[:3] == ["member.remove", "api_key.revoke", "member.set_role"]
    assert {"project.create", "member.add", "api_key.create", "job.create"} <= set(actions)
    by_admin = [e for e in entries if e["action"] != "job.create"]
    assert all(
        e["memberId"] == me["memberId"] and e["userId"] == me["userId"] and e["keyId"] for e in by_admin
    )
    job_entry = next(e for e in entries if e["objectId"] == p2.job)
    assert job_entry["action"] == "job.create" and job_entry["keyId"] == p2.key_ids["editor"]
    assert job_entry["userId"] == "editor@acme.p2" and job_entry["at"]
    only = await ok(
        g,
        'query($p: ID) { auditLog(projectId: $p, action: "api_key.revoke") { nodes { objectId } } }',
        boot,
        p=p2.id,
    )
    assert [e["objectId"] for e in only["auditLog"]["nodes"]] == [p2.key_ids["viewer"]]


async def wait_for_code(g: Gql, query: str, key: str, expected: str) -> None:
    """Each replica caches a key's lookup for auth.key_cache_ttl_s (2 s): poll past it."""
    import asyncio

    for _ in range(60):
        if code(await g(query, api_key=key)) == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{query} never answered {expected}")
