"""Fair claiming for the SQL-table queue: tenants (fair groups) take turns within a priority.

Order of the candidates of one claim: earlier queues first, then higher priority, then the
message's turn within its group (1 for each group's oldest waiting message, 2 for its next, ...),
then the group served least recently (`queue_turns`), then age. So one claim of n messages
takes one message from each waiting group before a second from any, and consecutive claims
(a worker taking one message at a time) go round-robin across groups: a tenant's burst of 500
messages delays another tenant's single message by at most one message per waiting tenant.

The turn numbers come from a window function over the visible messages of the claimed queues:
each claim reads all of them (on SQLite, 2 cores: about 1 ms with 500 waiting, 25-30 ms
with 10,000; MAX_ACTIVE_JOBS_PER_TENANT keeps one tenant's share far smaller). On PostgreSQL the
window runs in a subquery and only the claimed rows are locked (FOR UPDATE OF ... SKIP LOCKED),
so concurrent consumers skip each other's rows as before; the outer query repeats the
visibility condition, which PostgreSQL re-evaluates on a row another consumer claimed and
committed meanwhile (a condition only inside the subquery would not be).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from assetcore.db.schema import queue_messages as qm
from assetcore.db.schema import queue_turns as turns

MAX_GROUP_CHARS = 80  # the fair_group column


def candidates(queues: tuple[str, ...], lock_rows: bool) -> Any:
    """The ids of the next `limit` visible messages of `queues`, in fair order (module docstring)."""
    visible = and_(qm.c.queue.in_(queues), qm.c.visible_at <= bindparam("now"))
    waiting = (
        select(
            qm.c.id,
            qm.c.queue,
            qm.c.priority,
            func.row_number()
            .over(partition_by=(qm.c.queue, qm.c.priority, qm.c.fair_group), order_by=qm.c.id)
            .label("turn"),
            func.coalesce(turns.c.served_at, 0.0).label("served_at"),
        )
        .select_from(
            qm.outerjoin(turns, and_(turns.c.queue == qm.c.queue, turns.c.fair_group == qm.c.fair_group))
        )
        .where(visible)
        .subquery("waiting")
    )
    rank = case({name: i for i, name in enumerate(queues)}, value=waiting.c.queue)
    chosen = (
        select(qm.c.id)
        .join(waiting, waiting.c.id == qm.c.id)
        .where(visible)  # rechecked on PostgreSQL when a row it locks was claimed meanwhile
        .order_by(rank, waiting.c.priority.desc(), waiting.c.turn, waiting.c.served_at, waiting.c.id)
        .limit(bindparam("limit"))
    )
    if lock_rows:
        chosen = chosen.with_for_update(skip_locked=True, of=qm)
    return chosen.scalar_subquery()


def record_turns(is_sqlite: bool) -> Any:
    """An upsert of (queue, fair_group, served_at): the groups a claim just served."""
    insert = sqlite.insert(turns) if is_sqlite else postgresql.insert(turns)
    return insert.on_conflict_do_update(
        index_elements=[turns.c.queue, turns.c.fair_group], set_={"served_at": insert.excluded.served_at}
    )


def served(rows: Sequence[Any], now: float) -> list[dict[str, Any]]:
    """Upsert parameters for the claimed rows' groups, sorted: concurrent claims that serve the
    same groups take their row locks in one order (no deadlock on PostgreSQL)."""
    groups = sorted({(r.queue, r.fair_group) for r in rows})
    return [{"queue": q, "fair_group": g, "served_at": now} for q, g in groups]
