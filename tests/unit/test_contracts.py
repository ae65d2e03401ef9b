"""Generated artefacts stay in step with their sources: gRPC stubs, migrations, step option schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from assetcore.db.migrate import upgrade_sync
from assetcore.db.schema import metadata

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("generator", ["scripts/gen_protos.py", "scripts/gen_step_schemas.py"])
def test_generated_files_match_their_sources(generator: str) -> None:
    """The gRPC stubs match the protos; docs/step-options.schema.json matches the step options."""
    result = subprocess.run(
        [sys.executable, generator, "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrations_build_exactly_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade_sync(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert differences == [], "the schema changed without a migration: add one under assetcore/db/migrations"
