"""`assetcore up` as a subprocess: the multi-process mesh, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assetcore.mesh import free_port
from assetcore.steps.catalog import load_catalog

PROBE = "assetcore.steps.probe"
# The probe pipeline's noop steps (assetcore/steps/probe.py), one process each, as deployed.
STEPS = load_catalog((PROBE,)).pipelines["probe"].step_names


@dataclass
class MeshProcess:
    process: subprocess.Popen[bytes]
    data_dir: Path
    gateway_url: str
    log_path: Path

    def state(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "mesh.json").read_text())  # type: ignore[no-any-return]

    def pid(self, name: str) -> int:
        return int(self.state()[name]["pid"])

    def kill(self, name: str) -> int:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout_s: float = 60) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid = self.state()[name]["pid"]
            if pid and pid != old_pid:
                return int(pid)
            time.sleep(0.1)
        raise TimeoutError(f"{name} was not restarted")

    @property
    def api_key(self) -> str:
        return (self.data_dir / ".local_api_key").read_text().strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def mesh_process(data_dir: Path, **env: str) -> Iterator[MeshProcess]:
    """Start `assetcore up` running the probe steps; stop it with SIGINT and check it exits cleanly."""
    gateway_port, orchestrator_port = free_port(), free_port()
    environment = {
        **os.environ,
        "ASSETCORE_PLUGINS": json.dumps([PROBE]),
        "ASSETCORE_STEPS": json.dumps(STEPS),
        "ASSETCORE_WORKER__VISIBILITY_TIMEOUT_S": "2",
        "ASSETCORE_WORKER__DRAIN_GRACE_S": "2",
        "ASSETCORE_WORKER__PROGRESS_INTERVAL_S": "0.05",
        "ASSETCORE_RETRY__BASE_DELAY_S": "0.05",
        "ASSETCORE_LOG_LEVEL": "WARNING",
        **env,
    }
    log_path = data_dir.parent / "mesh.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assetcore.cli",
                "up",
                "--data-dir",
                str(data_dir),
                "--gateway-port",
                str(gateway_port),
                "--orchestrator-port",
                str(orchestrator_port),
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    mesh = MeshProcess(process, data_dir, f"http://127.0.0.1:{gateway_port}", log_path)
    try:
        _wait_ready(mesh)
        yield mesh
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(f"`assetcore up` did not stop on Ctrl-C:\n{mesh.log()}") from None
            assert code == 0, f"`assetcore up` exited {code}:\n{mesh.log()}"


def _wait_ready(mesh: MeshProcess, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if mesh.process.poll() is not None:
            raise AssertionError(f"`assetcore up` exited early:\n{mesh.log()}")
        if "Ctrl-C stops the mesh" in mesh.log():
            try:
                httpx.get(f"{mesh.gateway_url}/healthz", timeout=5).raise_for_status()
                return
            except httpx.HTTPError:
                pass  # a busy machine: ask again until the deadline
        time.sleep(0.2)
    raise AssertionError(f"`assetcore up` not ready in {timeout_s}s:\n{mesh.log()}")


async def graphql(mesh: MeshProcess, query: str, **variables: Any) -> dict[str, Any]:
    """A GraphQL request to the mesh's gateway with its local API key; fails on any error."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{mesh.gateway_url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {mesh.api_key}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]
