"""Schema migrations (Alembic), run programmatically.

`upgrade(url)` brings a database to the newest revision. Several processes may start at
once (`assetcore up`, or orchestrator replicas): on SQLite the upgrade holds a file lock,
on PostgreSQL an advisory lock.
"""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from assetcore.config import Settings
from assetcore.db.database import is_sqlite, normalize_url, sync_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ADVISORY_LOCK_ID = 0x61737365  # "asse"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    url = sync_url(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        if is_sqlite(url):
            database = Path(str(make_url(url).database))
            database.parent.mkdir(parents=True, exist_ok=True)
            with database.with_name(database.name + ".migrate.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                with engine.begin() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    command.upgrade(alembic_config(conn), revision)
            return
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            command.upgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, url, revision)


async def upgrade_all(settings: Settings) -> None:
    """The job store and, when it is a separate SQL database, the queue database."""
    await upgrade(settings.resolved_database_url())
    queue_url = settings.resolved_queue_url()
    if not queue_url.startswith("sqs://") and normalize_url(queue_url) != normalize_url(
        settings.resolved_database_url()
    ):
        await upgrade(queue_url)
