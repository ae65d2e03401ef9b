"""gRPC servers with the standard health-checking and reflection services.

`interceptors` (outermost first) wrap every call; those of assetcore/rpc/interceptors.py
protect only the services they name, so health checks and reflection stay open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from assetcore.rpc.channel import CHANNEL_OPTIONS
from assetcore.telemetry import tracing


class GrpcServer:
    """A started-later aio server whose health status the owner flips (NOT_SERVING until ready)."""

    def __init__(
        self,
        service_names: Sequence[str],
        register: Callable[[grpc.aio.Server], None],
        *,
        interceptors: Sequence[Any] = (),
    ) -> None:
        # Tracing outermost: its server span covers authentication and error mapping too.
        chain = [*tracing.server_interceptors(), *interceptors]
        self.server = grpc.aio.server(options=CHANNEL_OPTIONS, interceptors=chain or None)
        register(self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._names = list(service_names)
        reflection.enable_server_reflection(
            [*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self.port = 0

    async def start(self, address: str) -> int:
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        await self.set_serving(False)
        await self.server.start()
        return self.port

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self._names):
            await self.health.set(name, status)

    async def stop(self, grace_s: float) -> None:
        await self.set_serving(False)
        await self.server.stop(grace_s)


def listen_address(host: str, port: int) -> str:
    """host:port for add_insecure_port (an IPv6 host in brackets)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
