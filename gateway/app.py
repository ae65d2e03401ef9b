"""The gateway deployable: a Starlette app with an explicit route list and a lifespan.

Routes: /graphql (queries, mutations; subscriptions over graphql-transport-ws; GraphiQL in a
browser), /files/<key> (signed downloads, local profile only), /healthz. Requests to /graphql
are held to settings.gateway_limits: a body cap (gateway/body_limit.py), per-operation limits
(gateway/limits.py) and open subscriptions per key (gateway/subscriptions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from assetcore.adapters import open_blob_store, open_signer
from assetcore.blobs.signing import UrlSigner
from assetcore.config import Settings
from assetcore.rpc.client import OrchestratorApi
from assetcore.telemetry import tracing
from gateway.body_limit import BodyLimit
from gateway.context import Gateway, RequestContext
from gateway.files import file_route
from gateway.http_errors import RequestRefused, refusal_response
from gateway.schema import build_schema
from gateway.subscriptions import SubscriptionSlots


class GatewayGraphQL(GraphQL):
    def __init__(self, gateway: Gateway, schema: Schema) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """strawberry's handling, with its HTTP refusals in the gateway's error envelope."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as refused:
            response = refusal_response(refused)
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> Any:
        """A request (body, or a GET's variables) must be a JSON object: batches are off."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict):
            raise RequestRefused(
                400, "BAD_REQUEST", f"expected a JSON object, got {_json_kind(parsed)} (batching is off)"
            )
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Any:
        headers = {k.lower(): v for k, v in request.headers.items()}
        base_url = str(request.base_url).replace("ws://", "http://").replace("wss://", "https://")
        ctx = RequestContext(self.gateway, headers, base_url)
        if isinstance(request, WebSocket):
            return {"ctx": ctx}  # strawberry adds connection_params to a dict context
        return ctx


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def create_app(settings: Settings) -> Starlette:
    blobs = open_blob_store(settings)
    signer = open_signer(settings)
    api = OrchestratorApi(settings.orchestrator_address)
    limits = settings.gateway_limits
    gateway = Gateway(
        api=api,
        signer=signer,
        url_ttl_s=settings.url_ttl_s,
        subscriptions=SubscriptionSlots(limits.max_subscriptions_per_key),
    )
    graphql = GatewayGraphQL(gateway, build_schema(limits))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz),
        Route("/graphql", BodyLimit(graphql, limits.max_body_bytes), methods=["GET", "POST"]),
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
