"""Schema migrations (Alembic), run programmatically on an async engine.

`upgrade(url)` brings a database to the newest revision. In the local profile several
processes may start at once on one SQLite file, so the upgrade holds a file lock.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from assetcore.config import Settings
from assetcore.db.engine import create_engine, is_sqlite

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    lock_path = Path(str(make_url(url).database) + ".migrate.lock") if is_sqlite(url) else None
    engine = create_engine(url, pool_size=1)
    try:
        if lock_path is None:
            await _upgrade(engine, revision)
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            await _upgrade(engine, revision)
    finally:
        await engine.dispose()


async def upgrade_all(settings: Settings) -> None:
    """The job store and, when it is a separate SQL database, the queue database."""
    await upgrade(settings.resolved_database_url())
    queue_url = settings.resolved_queue_url()
    if not queue_url.startswith("sqs://") and queue_url != settings.resolved_database_url():
        await upgrade(queue_url)


async def _upgrade(engine: Any, revision: str) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision))
        await conn.commit()
