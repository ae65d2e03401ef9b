"""The audit log: who (member, user, key) did what (action, object) when, per project.

Append-only: this module is the only writer and it only inserts (there is no UPDATE or DELETE
of audit_log anywhere in the code). Entries are written in the transaction of the change
they record where the change is this service's own (projects, members, keys); job actions
are recorded right after the job's transaction commits.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, insert, select

from assetcore.db.database import Database
from assetcore.db.schema import audit_log
from assetcore.errors import InvalidArgument
from assetcore.proto.v1 import orchestrator_pb2
from services.orchestrator.convert import timestamp
from services.orchestrator.principal import Principal

MAX_PAGE = 100


def record(
    conn: Connection, principal: Principal, action: str, object_id: str, project_id: str = "", **detail: Any
) -> None:
    conn.execute(
        insert(audit_log).values(
            tenant_id=principal.tenant_id,
            project_id=project_id or principal.project_id,
            at=time.time(),
            user_id=principal.user_id,
            member_id=principal.member_id,
            key_id=principal.key_id,
            action=action,
            object_id=object_id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


async def append(db: Database, principal: Principal, action: str, object_id: str, **detail: Any) -> None:
    await db.write(lambda conn: record(conn, principal, action, object_id, **detail))


def _page_after(token: str) -> int | None:
    if not token:
        return None
    if not token.isdigit() or len(token) > 18:
        raise InvalidArgument("malformed page token", field="page_token")
    return int(token)


async def list_entries(
    db: Database, tenant_id: str, project_id: str, request: orchestrator_pb2.ListAuditLogRequest
) -> orchestrator_pb2.ListAuditLogResponse:
    """The project's entries, newest first."""
    size = min(request.page_size or 20, MAX_PAGE)
    if request.page_size < 0:
        raise InvalidArgument("must not be negative", field="page_size")
    query = select(audit_log).where(audit_log.c.tenant_id == tenant_id, audit_log.c.project_id == project_id)
    if (after := _page_after(request.page_token)) is not None:
        query = query.where(audit_log.c.id < after)
    if request.action:
        query = query.where(audit_log.c.action == request.action[:40])
    query = query.order_by(audit_log.c.id.desc()).limit(size + 1)
    rows = await db.read(lambda conn: conn.execute(query).all())
    entries = [
        orchestrator_pb2.AuditEntry(
            id=row.id,
            project_id=row.project_id,
            at=timestamp(row.at),
            user_id=row.user_id,
            member_id=row.member_id,
            key_id=row.key_id,
            action=row.action,
            object_id=row.object_id,
            detail=row.detail,
        )
        for row in rows[:size]
    ]
    more = len(rows) > size
    return orchestrator_pb2.ListAuditLogResponse(
        entries=entries, next_page_token=str(entries[-1].id) if more else ""
    )
