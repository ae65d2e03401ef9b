"""`assetcore up`: every deployable as its own local process, supervised.

Like the production scheduler, the supervisor restarts a process that dies (with backoff, each
process on its own: one crash-looping child never delays another's restart), and on Ctrl-C or
SIGTERM stops the mesh in order: gateway and steps drain first, then the orchestrator.
`<data dir>/mesh.json` lists the processes, their pids and addresses (steps' metrics too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from assetcore.config import Settings
from assetcore.db.migrate import upgrade_all
from assetcore.embedded import local_api_key
from assetcore.steps.catalog import catalog_for

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0
READY_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    env: dict[str, str]
    address: str  # gRPC or HTTP address it serves
    metrics_address: str | None = None  # its Prometheus endpoint (steps)
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    backoff_s: float = 1.0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assetcore.cli", "serve", self.name, env=self.env
        )
        self.started_at = time.monotonic()

    async def stop(self, timeout_s: float) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            log.warning("%s did not stop in %.0fs: killing it", self.name, timeout_s)
            self.process.kill()
            await self.process.wait()


class Mesh:
    def __init__(self, settings: Settings, gateway_port: int, orchestrator_port: int) -> None:
        self.settings = settings
        data_dir = str(settings.data_dir.resolve())
        base = {**os.environ, "ASSETCORE_DATA_DIR": data_dir, "ASSETCORE_PROFILE": settings.profile}
        orchestrator = f"127.0.0.1:{orchestrator_port}"
        base["ASSETCORE_ORCHESTRATOR_ADDRESS"] = orchestrator
        self.orchestrator = Child("orchestrator", base, orchestrator)
        self.gateway = Child(
            "gateway",
            {**base, "ASSETCORE_GATEWAY_PORT": str(gateway_port)},
            f"http://127.0.0.1:{gateway_port}",
        )
        self.steps = []
        for name in catalog_for(settings).step_names:
            port, metrics = free_port(), free_port()
            env = {**base, "ASSETCORE_STEP_PORT": str(port), "ASSETCORE_METRICS_PORT": str(metrics)}
            self.steps.append(
                Child(name, env, f"127.0.0.1:{port}", metrics_address=f"http://127.0.0.1:{metrics}/metrics")
            )

    @property
    def children(self) -> list[Child]:
        return [self.orchestrator, self.gateway, *self.steps]

    def write_state(self) -> None:
        state = {
            c.name: {
                "pid": c.process.pid if c.process else None,
                "address": c.address,
                **({"metrics": c.metrics_address} if c.metrics_address else {}),
                "restarts": c.restarts,
            }
            for c in self.children
        }
        path = self.settings.data_dir / "mesh.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)

    async def start(self) -> None:
        await self.orchestrator.start()
        await wait_grpc_serving(self.orchestrator.address, "")
        await asyncio.gather(*(c.start() for c in [self.gateway, *self.steps]))
        await wait_http_ok(f"{self.gateway.address}/healthz")
        await asyncio.gather(*(wait_grpc_serving(c.address, "") for c in self.steps))
        self.write_state()

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart children that exit on their own, until `stop` is set."""
        await supervise(self.children, stop, self.write_state)

    async def stop(self) -> None:
        grace = self.settings.worker.drain_grace_s + 10
        await asyncio.gather(*(c.stop(grace) for c in [self.gateway, *self.steps]))
        await self.orchestrator.stop(15)


async def supervise(children: Sequence[Child], stop: asyncio.Event, on_restart: Callable[[], None]) -> None:
    """Keep each child running until `stop` is set, each in its own task: one child's backoff
    never delays another's restart."""
    await asyncio.gather(*(_keep_running(child, stop, on_restart) for child in children))


async def _keep_running(child: Child, stop: asyncio.Event, on_restart: Callable[[], None]) -> None:
    stopping = asyncio.create_task(stop.wait())
    try:
        while child.process is not None:
            exited = asyncio.create_task(child.process.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                exited.cancel()
                return
            ran_s = time.monotonic() - child.started_at
            child.backoff_s = 1.0 if ran_s > 60 else min(child.backoff_s * 2, MAX_BACKOFF_S)
            log.warning(
                "%s exited (%s) after %.1fs; restarting in %.0fs",
                child.name,
                exited.result(),
                ran_s,
                child.backoff_s,
            )
            await asyncio.wait({stopping}, timeout=child.backoff_s)  # the backoff, cut short by stop
            if stop.is_set():
                return
            child.restarts += 1
            await child.start()
            on_restart()
    finally:
        stopping.cancel()


async def wait_grpc_serving(address: str, service: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} not serving after {timeout_s:.0f}s")
            await asyncio.sleep(0.1)


async def wait_http_ok(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=1.0)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout_s:.0f}s")
            await asyncio.sleep(0.1)


async def run_mesh(settings: Settings, *, gateway_port: int | None, orchestrator_port: int | None) -> int:
    await upgrade_all(settings)
    key = await local_api_key(settings)
    mesh = Mesh(
        settings,
        gateway_port=gateway_port if gateway_port is not None else settings.gateway_port,
        orchestrator_port=orchestrator_port
        if orchestrator_port is not None
        else int(settings.orchestrator_address.rsplit(":", 1)[1]),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await mesh.start()
        print(f"GraphQL    {mesh.gateway.address}/graphql  (GraphiQL in a browser)", flush=True)
        print(f"gRPC       orchestrator {mesh.orchestrator.address}", flush=True)
        for step in mesh.steps:
            print(f"gRPC       {step.name:<12} {step.address}", flush=True)
        print(f"API key    {key}", flush=True)
        print("Ctrl-C stops the mesh.", flush=True)
        await mesh.supervise(stop)
    finally:
        await mesh.stop()
    return 0
