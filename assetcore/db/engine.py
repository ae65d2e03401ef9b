"""Async engines for SQLite (local profile) and PostgreSQL, with the settings each needs.

SQLite: WAL so readers never block the writer, a busy timeout so concurrent processes wait
instead of failing, and BEGIN IMMEDIATE so a transaction takes the write lock up front
(a deferred transaction that upgrades to a writer later can fail with SQLITE_BUSY at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_READ_ONLY = "assetcore_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("SQLite needs a file: every process of the mesh shares it")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


_write_locks: dict[tuple[str, int], asyncio.Lock] = {}


def _write_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """One lock per SQLite file and event loop: this process's writers take turns in Python.

    SQLite allows one writer; a second one waits in SQLite's busy handler, which sleeps in
    steps of up to 100 ms. Queueing writers on an asyncio lock instead hands the database
    over the moment it is free. (Other processes still meet the busy handler.)
    """
    if not is_sqlite(str(engine.url)):
        return None
    key = (str(engine.url), id(asyncio.get_running_loop()))
    if key not in _write_locks:
        for stale in [k for k in _write_locks if k[1] != key[1]]:
            del _write_locks[stale]
        _write_locks[key] = asyncio.Lock()
    return _write_locks[key]


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction (committed on success, rolled back on error)."""
    lock = _write_lock(engine)
    if lock is None:
        async with engine.begin() as conn:
            yield conn
        return
    async with lock, engine.begin() as conn:
        yield conn


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_READ_ONLY: True})
        yield conn
