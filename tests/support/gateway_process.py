"""The gateway as its own process (`assetcore serve gateway`) in front of a test's orchestrator, so
that abuse tests can watch the gateway process itself: its exit status and its resident memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from assetcore.config import Settings
from assetcore.mesh import free_port


@dataclass
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def rss_bytes(self) -> int:
        """The process's resident set size now (Linux /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line in /proc/<pid>/status")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def gateway_process(settings: Settings, orchestrator_address: str, **env: str) -> Iterator[GatewayProcess]:
    """Run a gateway on a free port against `orchestrator_address`, sharing `settings`' data
    directory and signing secret (its file URLs verify); stop it with SIGTERM on the way out."""
    port = free_port()
    environment = {
        **os.environ,
        "ASSETCORE_ORCHESTRATOR_ADDRESS": orchestrator_address,
        "ASSETCORE_GATEWAY_PORT": str(port),
        "ASSETCORE_SIGNING_SECRET": settings.signing_secret or "",
        "ASSETCORE_LOG_LEVEL": "WARNING",
        **env,
    }
    log_path = settings.data_dir.parent / f"gateway-{port}.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "assetcore.cli", "serve", "gateway", "--data-dir", str(settings.data_dir)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(gateway)
        yield gateway
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(gateway: GatewayProcess, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise AssertionError(f"the gateway exited early:\n{gateway.log()}")
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the gateway did not answer /healthz in {timeout_s} s:\n{gateway.log()}")
