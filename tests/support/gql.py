"""A GraphQL client of a real gateway (uvicorn on 127.0.0.1) over the embedded mesh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from gql import Client
from gql.transport.websockets import WebsocketsTransport

from assetcore.config import Settings
from gateway.app import running
from tests.support.harness import Harness, embedded


@dataclass
class Gql:
    url: str
    key: str
    http: httpx.AsyncClient
    harness: Harness

    async def __call__(self, query: str, api_key: str | None = None, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {api_key or self.key}"}
        response = await self.http.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def ws(self, key: str | None = None) -> Client:
        transport = WebsocketsTransport(
            url=self.url.replace("http", "ws") + "/graphql",
            init_payload={"authorization": f"Bearer {key or self.key}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        return Client(transport=transport)


@asynccontextmanager
async def gateway_over_mesh(settings: Settings) -> AsyncIterator[Gql]:
    async with embedded(settings) as harness:
        gateway_settings = settings.model_copy(
            update={"orchestrator_address": harness.mesh.orchestrator_address, "gateway_port": 0}
        )
        async with running(gateway_settings) as gateway, httpx.AsyncClient(timeout=30) as http:
            yield Gql(gateway.url, harness.key, http, harness)


def first_error(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("errors"), result
    return result["errors"][0]  # type: ignore[no-any-return]
