"""A real PostgreSQL server for tests: testcontainers where a Docker engine runs, else local binaries.

Local binaries: initdb into a temporary directory, start on a free port with a socket in
that directory, trust authentication on 127.0.0.1. PostgreSQL refuses to run as root, so as
root the server runs as the `postgres` user.

Without a server the PostgreSQL tests are skipped, except where ASSETCORE_TEST_REQUIRE_POSTGRES=1
(CI sets it): there a missing server is an error, never a silently halved test matrix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from assetcore.mesh import free_port as _free_port

PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
REQUIRE_ENV = "ASSETCORE_TEST_REQUIRE_POSTGRES"
START_TIMEOUT_S = 60  # pg_ctl -w: a busy machine can take a while
PORT_ATTEMPTS = 3  # the free port can be taken by another process before the server binds it


class PostgresUnavailable(Exception):
    pass


def _bin(name: str) -> str:
    for directory in PG_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise PostgresUnavailable(f"{name} not found (install PostgreSQL server binaries)")
    return found


@contextlib.contextmanager
def _docker_postgres() -> Iterator[str]:
    try:
        from docker.errors import DockerException
        from testcontainers.community.postgres import PostgresContainer
    except ImportError as exc:
        raise PostgresUnavailable(f"testcontainers unavailable: {exc}") from exc
    try:
        container = PostgresContainer("postgres:16-alpine", driver="asyncpg")
        container.start()
    except DockerException as exc:
        raise PostgresUnavailable(f"no Docker engine: {exc}") from exc
    try:
        yield container.get_connection_url()
    finally:
        container.stop()


@contextlib.contextmanager
def _local_postgres() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="assetcore-pg-"))
    data = root / "data"
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres")
    log = root / "server.log"
    stop = [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"]
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = _free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            start = [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w"]
            try:
                subprocess.run([*start, "-t", str(START_TIMEOUT_S), "start"], check=True, capture_output=True)
                break
            except subprocess.CalledProcessError:
                subprocess.run(stop, check=False, capture_output=True)  # whatever half started
                if attempt == PORT_ATTEMPTS or "could not bind" not in _tail(log):
                    raise
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = (
            exc.stderr.decode(errors="replace")
            if isinstance(exc, subprocess.CalledProcessError)
            else str(exc)
        )
        detail = f"{detail.strip()} {_tail(log)}".strip()
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"local PostgreSQL failed to start: {detail}") from exc
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _tail(log: Path, lines: int = 5) -> str:
    """The server log's last lines (why a start failed), or ''."""
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL (asyncpg) of the server's `postgres` database; raises PostgresUnavailable."""
    reasons = []
    for start in (_docker_postgres, _local_postgres):
        try:
            with start() as url:
                yield url
                return
        except PostgresUnavailable as exc:
            reasons.append(str(exc))
    if os.environ.get(REQUIRE_ENV) == "1":
        raise RuntimeError(f"PostgreSQL is required here ({REQUIRE_ENV}=1): {'; '.join(reasons)}")
    raise PostgresUnavailable("; ".join(reasons))


async def create_database(server_url: str, name: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    import psycopg

    dsn = server_url.replace("postgresql+asyncpg", "postgresql")
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    async with conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
