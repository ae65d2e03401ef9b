"""Fixtures of the orchestrator's unit tests: a real SQLite job store, an in-memory blob store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from assetcore.config import Settings
from assetcore.db.database import Database
from assetcore.db.schema import metadata
from tests.unit.orchestrator.support import MemoryBlobs


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)  # what the migrations build (tests/unit/test_contracts.py)
    engine.dispose()
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def blobs(db: Database) -> MemoryBlobs:
    return MemoryBlobs(db)
