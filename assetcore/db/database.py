"""Databases: SQLAlchemy 2 engines behind one async API for transactions.

A transaction is a plain function of a `Connection`: `await db.write(fn)` runs it inside
BEGIN ... COMMIT (rollback on error) and returns its result; `await db.read(fn)` likewise,
read-only. Where the transaction runs depends on the driver in the URL:

- PostgreSQL with asyncpg (`postgresql://` or `postgresql+asyncpg://`, production):
  SQLAlchemy's asyncio extension; fn runs through `AsyncConnection.run_sync`, each
  statement awaiting asyncpg without blocking the event loop.
- SQLite (`sqlite://`, the local profile) and PostgreSQL with psycopg
  (`postgresql+psycopg://`): a sync engine, fn running whole in a database thread, one hop
  between the loop and the thread per transaction. For SQLite this beats aiosqlite, which
  hops to its thread once per statement: measured 3x less CPU per transaction.
  SQLite gets WAL (readers never block the writer), one writer thread (this process's
  writers take turns without meeting SQLite's busy handler, which sleeps in steps of up to
  100 ms) and BEGIN IMMEDIATE (a transaction takes the write lock up front). Other processes
  on the same file (`assetcore up`) wait in the busy handler, in the writer thread.

A transaction never waits for network I/O (blob copies, publishing): do that before or
after it.

Databases are shared per URL within a process (`open_database`), so the orchestrator's
relay and the workers of the embedded mesh use one writer for the queue file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")
_READ_ONLY = "assetcore_read_only"
_DRIVERS = {
    "sqlite+aiosqlite": "sqlite",  # accepted; SQLite always runs threaded (see above)
    "postgresql": "postgresql+asyncpg",
}
_SYNC_DRIVERS = {"postgresql+asyncpg": "postgresql+psycopg"}  # for migrations and tools


def normalize_url(url: str) -> str:
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The URL with a sync driver (Alembic and one-off tools)."""
    parsed = make_url(normalize_url(url))
    driver = _SYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("SQLite needs a file: every process of the mesh shares it")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=4, max_overflow=0)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        # Straight to the driver: this runs for every transaction.
        connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class Database:
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = normalize_url(url)
        self.sqlite = is_sqlite(self.url)
        self.asynchronous = make_url(self.url).get_dialect().is_async
        self._async_engine: AsyncEngine | None = None
        if self.asynchronous:
            self._async_engine = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        elif self.sqlite:
            self.engine = _sqlite_engine(self.url)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
            self._readers = ThreadPoolExecutor(2, thread_name_prefix="db-read")
        else:
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)
            self._writer = self._readers = ThreadPoolExecutor(pool_size, thread_name_prefix="db")
        self._thread = threading.local()
        self._connections: list[Connection] = []
        self._connections_lock = threading.Lock()
        self._users = 0

    def _connection(self, read_only: bool) -> Connection:
        """The calling thread's own connection: no pool checkout and reset per transaction.

        SQLite readers get a connection of their own that begins without the write lock.
        """
        read_only = read_only and self.sqlite
        name = "read" if read_only else "write"
        conn: Connection | None = getattr(self._thread, name, None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            if read_only:
                conn = conn.execution_options(**{_READ_ONLY: True})
            setattr(self._thread, name, conn)
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _write(self, fn: Callable[[Connection], T]) -> T:
        conn = self._connection(read_only=False)
        with conn.begin():
            return fn(conn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        conn = self._connection(read_only=True)
        with conn.begin() as transaction:
            try:
                return fn(conn)
            finally:
                transaction.rollback()

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run fn in a write transaction (committed if it returns, rolled back if it raises)."""
        if self._async_engine is not None:
            async with self._async_engine.begin() as conn:
                return await conn.run_sync(fn)
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._write, fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run fn in a read-only transaction (on SQLite: without taking the write lock)."""
        if self._async_engine is not None:
            async with self._async_engine.connect() as conn:
                try:
                    return await conn.run_sync(fn)
                finally:
                    await conn.rollback()
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn)

    async def dispose(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
            return
        await asyncio.to_thread(self._dispose_threads)

    def _dispose_threads(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.engine.dispose()


_shared: dict[str, Database] = {}
_shared_lock = threading.Lock()


def open_database(url: str) -> Database:
    """The process's Database for this URL; every open_database needs a close_database."""
    key = normalize_url(url)
    with _shared_lock:
        db = _shared.get(key)
        if db is None:
            db = _shared[key] = Database(key)
        db._users += 1
        return db


async def close_database(db: Database) -> None:
    with _shared_lock:
        db._users -= 1
        if db._users > 0:
            return
        _shared.pop(db.url, None)
    await db.dispose()
