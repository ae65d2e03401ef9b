"""Shared fixtures: settings on a temporary data directory, SQLite and PostgreSQL job stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from assetcore.config import Settings
from assetcore.db.database import Database, close_database, open_database
from assetcore.db.migrate import upgrade
from assetcore.steps.catalog import load_catalog
from tests.support.postgres import PostgresUnavailable, create_database, postgres_server

pytest_plugins = [
    "tests.support.moto_server",  # the moto_endpoint fixture
    "tests.support.tiny_models",  # the tiny_models fixture (random-weight ML models)
]
_postgres_failure: str | None = None


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for the session (testcontainers, else local binaries)."""
    global _postgres_failure
    if _postgres_failure is not None:
        pytest.skip(_postgres_failure)
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        _postgres_failure = f"PostgreSQL unavailable: {exc}"
        print(f"\nSKIPPING PostgreSQL tests: {exc}")
        pytest.skip(_postgres_failure)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The job store URL of one test: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'assetcore.db'}"
    server = request.getfixturevalue("postgres_server_url")
    return await create_database(server, f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture
async def migrated_db(database_url: str) -> AsyncIterator[Database]:
    """The job store at `database_url`, migrated to the latest schema and open."""
    await upgrade(database_url)
    database = open_database(database_url)
    try:
        yield database
    finally:
        await close_database(database)


PROBE = "assetcore.steps.probe"


def fast_settings(data_dir: Path, **overrides: object) -> Settings:
    """Local-profile settings with short timeouts, for tests.

    The probe pipelines (noop steps shaped like the character pipeline) run the control
    plane; the installed steps are declared too, on noop, so that their pipelines' jobs are
    validated as in production but fail cheaply at their first quality gate if ever run."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "plugins": [PROBE],
        "backends": dict.fromkeys(load_catalog().step_names, "noop"),
        "retry": {"max_attempts": 3, "base_delay_s": 0.05, "max_delay_s": 0.2},
        "worker": {
            "visibility_timeout_s": 3.0,
            "drain_grace_s": 2.0,
            "concurrency": 2,
            "progress_interval_s": 0.05,
        },
        "signing_secret": "test-signing-secret",
        "internal_token": "test-internal-token",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Noop backends, fast retries; the job store and queues in the parametrised database."""
    return fast_settings(tmp_path / "data", database_url=database_url, queue_url=database_url)
