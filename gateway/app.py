"""The gateway deployable: a Starlette app with an explicit route list and a lifespan.

Routes: /graphql (queries, mutations; subscriptions over graphql-transport-ws; GraphiQL in a
browser), /files/<key> (signed downloads, local profile only), /healthz.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from assetcore.adapters import open_blob_store, open_signer
from assetcore.blobs.signing import UrlSigner
from assetcore.config import Settings
from assetcore.rpc.client import OrchestratorApi
from assetcore.telemetry import tracing
from gateway.context import Gateway, RequestContext
from gateway.files import file_route
from gateway.schema import schema


class GatewayGraphQL(GraphQL):
    def __init__(self, gateway: Gateway) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.gateway = gateway

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Any:
        headers = {k.lower(): v for k, v in request.headers.items()}
        base_url = str(request.base_url).replace("ws://", "http://").replace("wss://", "https://")
        ctx = RequestContext(self.gateway, headers, base_url)
        if isinstance(request, WebSocket):
            return {"ctx": ctx}  # strawberry adds connection_params to a dict context
        return ctx


def create_app(settings: Settings) -> Starlette:
    blobs = open_blob_store(settings)
    signer = open_signer(settings)
    api = OrchestratorApi(settings.orchestrator_address)
    graphql = GatewayGraphQL(Gateway(api=api, signer=signer, url_ttl_s=settings.url_ttl_s))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    if isinstance(signer, UrlSigner):
        routes.append(Route("/files/{key:path}", file_route(signer, blobs)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await api.close()
            await blobs.close()

    return Starlette(routes=routes, lifespan=lifespan, middleware=tracing.asgi_middleware())


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process's lifespan owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningGateway:
    url: str


@asynccontextmanager
async def running(settings: Settings, port: int | None = None) -> AsyncIterator[RunningGateway]:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port if port is None else port,
        lifespan="on",
        log_level="warning",
        ws="websockets-sansio",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name="uvicorn")
    while not server.started:
        if task.done():
            task.result()  # raises the startup error (e.g. port in use)
            raise RuntimeError("gateway exited during startup")
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningGateway(url=f"http://{settings.gateway_host}:{bound}")
    finally:
        server.should_exit = True
        await task
