"""Asset deletion through the real gateway and orchestrator, on SQLite and PostgreSQL: a version,
then the whole asset; their files gone (404) unless another job of the tenant shares the blob;
the library no longer finds it; the audit entries kept; roles and tenancy enforced; deleting
again is NOT_FOUND; a job still running for a deleted asset fails instead of publishing."""

from __future__ import annotations

from typing import Any

import pytest

from assetcore.config import Settings
from tests.support.gql import Gql, gateway_over_mesh

pytestmark = pytest.mark.timeout(180)
CREATE = (
    "mutation($a: ID, $gates: [String!], $concept: String!) { createAssetJob(input:"
    ' {prompt: {concept: $concept}, pipeline: "probe", seed: 7, assetId: $a, reviewGates: $gates})'
    " { job { id } } }"
)
ASSET = (
    "query($id: ID!) { asset(id: $id) { latestVersion versions { version files { url }"
    " lineage { artifact { url } } } } }"
)
DELETE_VERSION = (
    "mutation($a: ID!, $v: Int!) { deleteAssetVersion(assetId: $a, version: $v)"
    " { assetId versions assetDeleted blobsDeleted } }"
)
DELETE_ASSET = "mutation($a: ID!) { deleteAsset(id: $a) { assetId versions assetDeleted blobsDeleted } }"


def code(result: dict[str, Any]) -> str | None:
    errors = result.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def ok(g: Gql, query: str, key: str, **variables: Any) -> dict[str, Any]:
    result = await g(query, api_key=key, **variables)
    assert not result.get("errors"), result
    return result["data"]  # type: ignore[no-any-return]


async def published(g: Gql, key: str, asset_id: str | None = None, gates: list[str] | None = None) -> str:
    """A probe job's asset id, once the job finished (not waiting when it has review gates)."""
    concept = "a knight in the rain" if gates else "a knight"  # not the others' blobs
    job = (await ok(g, CREATE, key, a=asset_id, gates=gates, concept=concept))["createAssetJob"]["job"]["id"]
    if gates:
        return str(job)
    _ = [e async for e in g.harness.api.watch_job(key, job)]
    return (await g.harness.api.get_job(key, job)).asset_id


async def statuses(g: Gql, urls: list[str]) -> set[int]:
    return {(await g.http.get(url)).status_code for url in urls}


def urls(version: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(library files, the producing job's blobs)."""
    return [f["url"] for f in version["files"]], [e["artifact"]["url"] for e in version["lineage"]]


async def test_delete_version_then_asset(settings: Settings) -> None:
    async with gateway_over_mesh(settings) as g:
        editor = await g.harness.key_for("acme", "p1", "editor")
        viewer = await g.harness.key_for("acme", "p1", "viewer")
        admin = await g.harness.key_for("acme", "p1", "admin")
        neighbour = await g.harness.key_for("acme", "p2", "admin")
        stranger = await g.harness.key_for("globex", "p1", "admin")
        knight = await published(g, editor)
        await published(g, editor, knight)  # version 2: the same seed and prompt, so the same blobs
        twin = await published(g, editor)  # another asset sharing those blobs
        versions = {v["version"]: v for v in (await ok(g, ASSET, viewer, id=knight))["asset"]["versions"]}
        v1_files, v1_blobs = urls(versions[1])
        v2_files, shared = urls(versions[2])
        assert set(v1_blobs) and {u.split("?")[0] for u in v1_blobs} == {u.split("?")[0] for u in shared}

        # Viewers may not delete; another project's or tenant's asset reads as not found.
        assert code(await g(DELETE_VERSION, api_key=viewer, a=knight, v=1)) == "PERMISSION_DENIED"
        assert code(await g(DELETE_ASSET, api_key=viewer, a=knight)) == "PERMISSION_DENIED"
        for other in (neighbour, stranger):
            assert code(await g(DELETE_VERSION, api_key=other, a=knight, v=1)) == "NOT_FOUND"
            assert code(await g(DELETE_ASSET, api_key=other, a=knight)) == "NOT_FOUND"
        assert code(await g(DELETE_VERSION, api_key=editor, a=knight, v=0)) == "INVALID_ARGUMENT"
        assert code(await g(DELETE_VERSION, api_key=editor, a=knight, v=9)) == "NOT_FOUND"

        # One version: its library files go; the blobs version 2 and the twin share stay.
        gone = (await ok(g, DELETE_VERSION, editor, a=knight, v=1))["deleteAssetVersion"]
        assert gone == {
            "assetId": knight,
            "versions": [1],
            "assetDeleted": False,
            "blobsDeleted": len(v1_files),
        }
        assert await statuses(g, v1_files) == {404}
        assert await statuses(g, v2_files + shared) == {200}
        left = (await ok(g, ASSET, viewer, id=knight))["asset"]
        assert left["latestVersion"] == 2 and [v["version"] for v in left["versions"]] == [2]
        assert code(await g(DELETE_VERSION, api_key=editor, a=knight, v=1)) == "NOT_FOUND"

        # A job for a new version still running when its asset is deleted fails; nothing is published.
        waiting = await published(g, editor, knight, gates=["sketch"])

        # The whole asset (by an admin): the library no longer finds it; the twin's blobs stay.
        gone = (await ok(g, DELETE_ASSET, admin, a=knight))["deleteAsset"]
        assert gone["versions"] == [2] and gone["assetDeleted"] is True
        assert await statuses(g, v2_files) == {404}
        assert await statuses(g, shared) == {200}
        assert code(await g(ASSET, api_key=viewer, id=knight)) == "NOT_FOUND"
        assert code(await g(DELETE_ASSET, api_key=editor, a=knight)) == "NOT_FOUND"
        found = await ok(g, '{ assets(search: "knight") { nodes { id } } }', viewer)
        assert [a["id"] for a in found["assets"]["nodes"]] == [twin]

        await ok(
            g,
            'mutation($id: ID!) { reviewStep(jobId: $id, step: "sketch", decision: APPROVE) { id } }',
            editor,
            id=waiting,
        )
        _ = [e async for e in g.harness.api.watch_job(editor, waiting)]
        job = (await ok(g, "query($id: ID!) { job(id: $id) { state error { code } } }", viewer, id=waiting))[
            "job"
        ]
        assert job == {"state": "FAILED", "error": {"code": "ASSET_DELETED"}}
        assert code(await g(ASSET, api_key=viewer, id=knight)) == "NOT_FOUND"

        # The last asset using the shared blobs: now they go too.
        files, blobs = urls((await ok(g, ASSET, viewer, id=twin))["asset"]["versions"][0])
        await ok(g, DELETE_ASSET, editor, a=twin)
        assert await statuses(g, [*files, *blobs]) == {404}

        # The audit log keeps who deleted what, when, with which key.
        log = await ok(g, "{ auditLog(first: 100) { nodes { action objectId keyId at detail } } }", admin)
        deletions = [e for e in log["auditLog"]["nodes"] if e["action"].endswith(".delete")]
        assert [(e["action"], e["objectId"]) for e in deletions] == [
            ("asset.delete", twin),
            ("asset.delete", knight),
            ("asset_version.delete", knight),
        ]
        by_editor, by_admin, first = (e["keyId"] for e in deletions)
        assert by_editor == first != by_admin and by_admin
        assert all(e["at"] for e in deletions)
